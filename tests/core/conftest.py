from tests.alpaca.conftest import fake  # noqa: F401  (the Alpaca fake on a free loopback port)
