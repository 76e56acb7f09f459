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


@pytest.mark.parametrize("variable", ["ENABLE_LIVE_TRADING", "PAPER_TRADING"])
@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("TRUE", True), ("True", True), ("false", False), ("FaLsE", False)]
)
def test_the_gate_takes_exactly_true_or_false_in_any_case(monkeypatch, variable, text, value):
    monkeypatch.setenv(variable, text)
    assert getattr(ExecutionConfig(), variable.lower()) is value


@pytest.mark.parametrize("variable", ["ENABLE_LIVE_TRADING", "PAPER_TRADING"])
@pytest.mark.parametrize("text", ["1", "0", "yes", "no", "on", "off", "y", "maybe", "", " true", "true "])
def test_anything_else_is_a_config_error_naming_the_variable(monkeypatch, variable, text):
    monkeypatch.setenv("BROKER", "alpaca")
    monkeypatch.setenv("ENABLE_LIVE_TRADING", "true")
    monkeypatch.setenv("PAPER_TRADING", "false")
    monkeypatch.setenv(variable, text)
    with pytest.raises(ConfigError) as caught:
        ExecutionConfig()
    message = str(caught.value)
    assert message.startswith(f"{variable}={text!r} is not a boolean")
    assert "true or false" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no pydantic traceback
    assert "pydantic" not in message and "validation error" not in message


def test_a_dotenv_file_is_held_to_the_same_rule(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("BROKER=alpaca\nENABLE_LIVE_TRADING=on\nPAPER_TRADING=false\n")
    with pytest.raises(ConfigError, match="ENABLE_LIVE_TRADING='on'"):
        ExecutionConfig()


def test_values_given_in_code_are_checked_too():
    assert ExecutionConfig(enable_live_trading=True, paper_trading=False, broker="alpaca").live
    with pytest.raises(ConfigError, match="PAPER_TRADING=1 is not a boolean"):
        ExecutionConfig(paper_trading=1)


def test_other_bad_values_name_their_variable_without_showing_secrets(monkeypatch):
    with pytest.raises(ConfigError, match="BROKER_SECRET_KEY is not valid") as caught:
        ExecutionConfig(broker_secret_key=12345)
    assert "12345" not in str(caught.value)
