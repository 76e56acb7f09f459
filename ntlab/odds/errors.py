"""The Odds API errors as ntlab errors: one table from the vendor's ``error_code`` to a class and advice.

::

    SourceError (ntlab.webapi)
     └── OddsApiError                 anything The Odds API refused or failed to answer
          ├── OddsAuthError           MISSING_KEY, INVALID_KEY, DEACTIVATED_KEY
          ├── OddsQuotaError          OUT_OF_USAGE_CREDITS, and calls ntlab refuses because they would cost
          │                           more credits than remain (code QUOTA_WOULD_BE_EXCEEDED); never retried
          ├── OddsRateLimited         EXCEEDED_FREQ_LIMIT (HTTP 429)                        (retried)
          ├── OddsRequestError        every parameter code (MISSING_REGION, INVALID_MARKET, ...),
          │                           UNKNOWN_SPORT, EVENT_NOT_FOUND, HISTORICAL_UNAVAILABLE_ON_FREE_USAGE_PLAN
          └── OddsUnavailable         5xx or no answer                                      (retried)
"""

from __future__ import annotations

from typing import NamedTuple

from ntlab.webapi import SourceError


class OddsApiError(SourceError):
    """The Odds API refused the request or did not answer; ``code`` is its ``error_code``."""


class OddsAuthError(OddsApiError):
    """The key is missing, wrong or deactivated."""


class OddsQuotaError(OddsApiError):
    """The month's usage credits are spent, or the call would spend more than remain."""


class OddsRateLimited(OddsApiError):
    """More than the API's calls per second; retried after a pause."""


class OddsRequestError(OddsApiError):
    """A parameter, sport or event the API does not accept."""


class OddsUnavailable(OddsApiError):
    """The Odds API failed on its side or could not be reached."""


class Rule(NamedTuple):
    error: type[OddsApiError]
    retryable: bool
    advice: str


_PARAMETER = "fix the parameter the message names (see the-odds-api.com's error codes page)"

ERRORS: dict[str, Rule] = {
    "MISSING_KEY": Rule(OddsAuthError, False, "set ODDS_API_KEY or pass api_key="),
    "INVALID_KEY": Rule(
        OddsAuthError, False, "check ODDS_API_KEY: it is not a key of an active subscription"
    ),
    "DEACTIVATED_KEY": Rule(
        OddsAuthError, False, "the subscription was cancelled: subscribe again for a new key"
    ),
    "OUT_OF_USAGE_CREDITS": Rule(
        OddsQuotaError,
        False,
        "the month's usage credits are spent: wait for the quota to reset or upgrade the plan "
        "(retrying would not help)",
    ),
    "EXCEEDED_FREQ_LIMIT": Rule(OddsRateLimited, True, "too many calls per second: space them out"),
    "MISSING_REGION": Rule(OddsRequestError, False, "pass regions= (us, us2, uk, eu, au) or bookmakers="),
    "INVALID_REGION": Rule(OddsRequestError, False, "use regions from us, us2, uk, eu, au"),
    "INVALID_BOOKMAKERS": Rule(OddsRequestError, False, "use bookmaker keys as the API lists them"),
    "MISSING_MARKET": Rule(OddsRequestError, False, "pass markets= (h2h, spreads, totals)"),
    "INVALID_MARKET": Rule(
        OddsRequestError,
        False,
        "the odds endpoint takes featured markets only (h2h, spreads, totals): "
        "ask for others one event at a time with event_odds()",
    ),
    "INVALID_MARKET_COMBO": Rule(
        OddsRequestError, False, "an outright (futures) sport takes markets='outrights'"
    ),
    "INVALID_ODDS_FORMAT": Rule(OddsRequestError, False, "odds_format is 'decimal' or 'american'"),
    "INVALID_DATE_FORMAT": Rule(OddsRequestError, False, "date_format is 'iso' or 'unix'"),
    "INVALID_SPORT": Rule(OddsRequestError, False, "use a sport key from client.sports()"),
    "UNKNOWN_SPORT": Rule(
        OddsRequestError, False, "use a sport key from client.sports() (all=True lists every one)"
    ),
    "INVALID_SCORES_DAYS_FROM": Rule(OddsRequestError, False, "days_from is a whole number from 1 to 3"),
    "INVALID_EVENT_IDS": Rule(OddsRequestError, False, "event ids are 32 characters, from client.events()"),
    "INVALID_EVENT_ID": Rule(OddsRequestError, False, "event ids are 32 characters, from client.events()"),
    "EVENT_NOT_FOUND": Rule(
        OddsRequestError, False, "the event has probably finished: list current ones with events()"
    ),
    "HISTORICAL_UNAVAILABLE_ON_FREE_USAGE_PLAN": Rule(
        OddsRequestError, False, "historical odds need a paid plan"
    ),
}


def odds_error(code: str, message: str, status: int | None) -> OddsApiError:
    """The ntlab error for an error body; unknown codes are classed by HTTP status and keep their words."""
    rule = ERRORS.get(code)
    if rule is None:
        if status == 429:
            rule = ERRORS["EXCEEDED_FREQ_LIMIT"]
        elif status is not None and status >= 500:
            rule = Rule(OddsUnavailable, True, "The Odds API failed on its side: try again shortly")
        elif status == 401:
            rule = Rule(OddsAuthError, False, "check ODDS_API_KEY")
        else:
            rule = Rule(OddsRequestError, False, _PARAMETER)
    text = f"The Odds API says: {message.rstrip('.')}. What to do: {rule.advice}"
    return rule.error(text, code=code, status=status, retryable=rule.retryable)
