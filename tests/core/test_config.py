import logging

import pytest

from ntlab.config import ExecutionConfig
from ntlab.errors import ConfigError

KEY = "AKFAKEKEY1234567"
SECRET = "sEcReT-value-that-must-not-leak-42"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("ENABLE_LIVE_TRADING", "PAPER_TRADING", "BROKER", "BROKER_API_KEY", "BROKER_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_paper_on_the_built_in_venue():
    cfg = ExecutionConfig()
    assert (cfg.broker, cfg.mode, cfg.live) == ("paper", "paper", False)
    assert "built-in" in cfg.mode_reason


@pytest.mark.parametrize(
    ("enable", "paper", "live", "why"),
    [
        ("false", "true", False, "ENABLE_LIVE_TRADING is not true and PAPER_TRADING is not false"),
        ("true", "true", False, "PAPER_TRADING is not false"),
        ("false", "false", False, "ENABLE_LIVE_TRADING is not true"),
        ("true", "false", True, "LIVE"),
    ],
)
def test_live_needs_both_keys(monkeypatch, enable, paper, live, why):
    monkeypatch.setenv("BROKER", "alpaca")
    monkeypatch.setenv("ENABLE_LIVE_TRADING", enable)
    monkeypatch.setenv("PAPER_TRADING", paper)
    cfg = ExecutionConfig()
    assert cfg.live is live
    assert why in cfg.mode_reason


def test_missing_credentials_name_the_variables(monkeypatch):
    monkeypatch.setenv("BROKER", "alpaca")
    with pytest.raises(ConfigError, match="BROKER_API_KEY and BROKER_SECRET_KEY"):
        ExecutionConfig().require_credentials()


def test_secrets_never_show(monkeypatch, caplog):
    monkeypatch.setenv("BROKER", "alpaca")
    monkeypatch.setenv("BROKER_API_KEY", KEY)
    monkeypatch.setenv("BROKER_SECRET_KEY", SECRET)
    cfg = ExecutionConfig()
    _, secret = cfg.require_credentials()
    assert secret.get_secret_value() == SECRET
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("ntlab.test").info("config %s %r %s", cfg, cfg, cfg.model_dump())
    shown = [repr(cfg), str(cfg), caplog.text, repr(secret), str(cfg.model_dump()), cfg.model_dump_json()]
    for text in shown:
        assert SECRET not in text
        assert KEY not in text
