"""News API errors as ntlab errors: one table from the vendor's code to a class, a retry rule and advice.

::

    SourceError (ntlab.webapi)
     └── NewsApiError                 anything News API refused or failed to answer
          ├── NewsAuthError           apiKeyMissing, apiKeyInvalid, apiKeyDisabled
          ├── NewsLimitReached        apiKeyExhausted, maximumResultsReached (the plan's limits)
          ├── NewsRateLimited         rateLimited                         (retried)
          ├── NewsRequestError        parameterInvalid, parametersMissing, sourcesTooMany, sourceDoesNotExist
          └── NewsUnavailable         unexpectedError, other 5xx, no answer (retried)

Only ``rateLimited``, ``unexpectedError`` and failures to reach the server are retried: every other code
would fail the same way again.
"""

from __future__ import annotations

from typing import NamedTuple

from ntlab.webapi import SourceError


class NewsApiError(SourceError):
    """News API refused the request or did not answer; ``code`` is News API's own code."""


class NewsAuthError(NewsApiError):
    """The key is missing, wrong or disabled."""


class NewsLimitReached(NewsApiError):
    """The plan's limits: no requests left on the key, or more results than the plan may page through."""


class NewsRateLimited(NewsApiError):
    """Too many requests in a window of time; back off and try again."""


class NewsRequestError(NewsApiError):
    """A parameter is missing, not supported or names an unknown source."""


class NewsUnavailable(NewsApiError):
    """News API failed on its side or could not be reached."""


class Rule(NamedTuple):
    error: type[NewsApiError]
    retryable: bool
    advice: str


ERRORS: dict[str, Rule] = {
    "apiKeyMissing": Rule(
        NewsAuthError, False, "set NEWS_API_KEY (get a key at newsapi.org/register) or pass api_key="
    ),
    "apiKeyInvalid": Rule(
        NewsAuthError, False, "check NEWS_API_KEY: it was not recognised (copy it again from your account)"
    ),
    "apiKeyDisabled": Rule(
        NewsAuthError, False, "this key was disabled: contact News API or put another key in NEWS_API_KEY"
    ),
    "apiKeyExhausted": Rule(
        NewsLimitReached, False, "no requests left on this key: wait for the plan's reset or upgrade it"
    ),
    "maximumResultsReached": Rule(
        NewsLimitReached,
        False,
        "the plan pages through a limited number of results: narrow q, the dates or the sources, "
        "or ask for fewer results (max_results=)",
    ),
    "rateLimited": Rule(
        NewsRateLimited, True, "too many requests: wait a while (the free plan allows 100 a day) and retry"
    ),
    "parameterInvalid": Rule(NewsRequestError, False, "fix the parameter the message names"),
    "parametersMissing": Rule(
        NewsRequestError, False, "give q, sources or domains (everything) or country/category (top headlines)"
    ),
    "sourcesTooMany": Rule(NewsRequestError, False, "ask for at most 20 sources per request: split it"),
    "sourceDoesNotExist": Rule(
        NewsRequestError, False, "use source ids from client.sources() (e.g. 'reuters', not 'Reuters')"
    ),
    "unexpectedError": Rule(NewsUnavailable, True, "News API failed on its side: try again shortly"),
}


def news_error(code: str, message: str, status: int | None, retry_after: float | None = None) -> NewsApiError:
    """The ntlab error for a News API error body (unknown codes keep their words, classed by HTTP status)."""
    rule = ERRORS.get(code)
    if rule is None:
        if status is not None and status >= 500:
            rule = Rule(NewsUnavailable, True, "News API failed on its side: try again shortly")
        elif status == 429:
            rule = ERRORS["rateLimited"]
        elif status == 401:
            rule = Rule(NewsAuthError, False, "check NEWS_API_KEY")
        else:
            rule = Rule(NewsRequestError, False, "check the request's parameters")
    text = f"News API says: {message.rstrip('.')}. What to do: {rule.advice}"
    return rule.error(text, code=code, status=status, retryable=rule.retryable, retry_after=retry_after)
