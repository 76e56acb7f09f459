import pytest

from ntlab.algos import AlgoEngine
from ntlab.brokers.paper import PaperBroker
from ntlab.core import OrderManager
from ntlab.market import sample_market


@pytest.fixture(scope="session")
def market():
    return sample_market(seed=7, symbols=["AAPL", "MSFT"])


@pytest.fixture
async def session(market):
    broker = PaperBroker(market)
    async with OrderManager(broker, id_prefix="sim") as om:
        await broker.advance("15min")
        yield broker, om, AlgoEngine(om)
