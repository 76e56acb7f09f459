import logging

import ipywidgets
import pytest

from ntlab import Lab


class _FailOnCallbackErrors(logging.Handler):
    """ipywidgets swallows exceptions raised in on_click handlers; surface them as test failures."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(autouse=True)
def widget_errors_fail_the_test():
    handler = _FailOnCallbackErrors()
    loggers = [logging.getLogger(), logging.getLogger("traitlets"), logging.getLogger("ntlab")]
    for logger in loggers:
        logger.addHandler(handler)
    yield
    for logger in loggers:
        logger.removeHandler(handler)
    ipywidgets.Widget.close_all()
    assert not handler.records, [r.getMessage() for r in handler.records]


@pytest.fixture
def lab():
    with Lab(journal=None) as session:
        yield session
