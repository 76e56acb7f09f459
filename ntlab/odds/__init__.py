"""Sports odds from The Odds API v4 as tidy DataFrames, and the analytics that make them a market to study.

``OddsClient()`` (key from ``ODDS_API_KEY``) -> ``client.sports()``, ``client.odds("soccer_epl",
regions="uk,eu", markets="h2h,totals")``, ``client.events(...)``, ``client.event_odds(...)``,
``client.scores(...)`` (async twins ``asports``...); ``client.usage`` shows the credits left, and calls that
would overspend them are refused. Analytics: :func:`implied_probability`, :func:`overround`,
:func:`no_vig` (proportional, Shin), :func:`consensus`, :func:`best_prices`, :func:`arbitrage`,
:func:`lock_in` / :func:`arbitrage_legs` (Decimal stakes), :func:`odds_history` / :func:`odds_movement`.
Needs the ``odds`` extra (httpx); the fake needs ``fakes`` (aiohttp).
"""

from ntlab.odds.arbitrage import LockIn, arbitrage, arbitrage_legs, best_prices, lock_in
from ntlab.odds.charts import plot_movement
from ntlab.odds.client import ODDS_API_URL, OddsClient, OddsSettings, Usage, estimate_cost
from ntlab.odds.errors import (
    OddsApiError,
    OddsAuthError,
    OddsQuotaError,
    OddsRateLimited,
    OddsRequestError,
    OddsUnavailable,
)
from ntlab.odds.frames import ODDS_COLUMNS
from ntlab.odds.margins import consensus, no_vig, overround, shin_probabilities
from ntlab.odds.movement import odds_history, odds_movement
from ntlab.odds.prices import american_from_decimal, decimal_from_american, implied_probability

__all__ = [
    "ODDS_API_URL",
    "ODDS_COLUMNS",
    "LockIn",
    "OddsApiError",
    "OddsAuthError",
    "OddsClient",
    "OddsQuotaError",
    "OddsRateLimited",
    "OddsRequestError",
    "OddsSettings",
    "OddsUnavailable",
    "Usage",
    "american_from_decimal",
    "arbitrage",
    "arbitrage_legs",
    "best_prices",
    "consensus",
    "decimal_from_american",
    "estimate_cost",
    "implied_probability",
    "lock_in",
    "no_vig",
    "odds_history",
    "odds_movement",
    "overround",
    "plot_movement",
    "shin_probabilities",
]
