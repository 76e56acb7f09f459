"""Local fakes of the market-data vendors' APIs (Polygon, Alpha Vantage, Yahoo chart, Alpaca data) on 127.0.0.1.

Each serves the seeded sample market and is runnable: ``python -m ntlab.market.fakes.polygon --port 8771``.
"""
