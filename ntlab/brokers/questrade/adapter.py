"""QuestradeBroker: the Broker protocol over Questrade's REST API.

Reads (accounts, balances, positions, orders, executions, quotes) work for every Questrade API app.
Placing, replacing and cancelling orders is granted to partner apps only: a personal app's token is
read-only, and the adapter refuses trading with :data:`PARTNER_ONLY` (reason ``not_allowed``) once
Questrade says so, or at once when built with ``trading=False``. Executions still import into TCA:
``await broker.fills_since(start)`` returns them as ntlab fills.

News comes by polling (``poll_interval`` seconds): the day's orders and the executions since the last
look, diffed against what was reported already. Questrade's notification websocket is not used.

Questrade has no client order id, so submits are never repeated blindly: see
:mod:`ntlab.brokers.questrade.orders` for the map that names our orders and the lookup rule after a POST
whose answer never came.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from ntlab.brokers.questrade import mapping
from ntlab.brokers.questrade.auth import QuestradeAuth, TokenFile
from ntlab.brokers.questrade.orders import OrderMap, Sent
from ntlab.brokers.questrade.rest import Answer, QuestradeRest
from ntlab.core.broker import UpdateSink
from ntlab.core.enums import OrderStatus
from ntlab.core.lifecycle import ReplaceChange
from ntlab.core.records import Account, Fill, Order, Position, Quote
from ntlab.core.reports import (
    Accepted,
    Cancelled,
    CancelRejected,
    Expired,
    Filled,
    OrderUpdate,
    PendingCancel,
    Rejected,
    Replaced,
    ReplaceRejected,
)
from ntlab.core.submit import broker_truth
from ntlab.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    ConfigError,
    LiveTradingError,
    Reason,
    SessionClosed,
)

if TYPE_CHECKING:
    from ntlab.config import ExecutionConfig

log = logging.getLogger(__name__)

LIVE_LOGIN = "https://login.questrade.com"
PRACTICE_LOGIN = "https://practicelogin.questrade.com"
_LIVE_HOSTS = frozenset({"login.questrade.com"})
S = OrderStatus

PARTNER_ONLY = (
    "Questrade grants order placement to partner apps only, and this token's app may not trade. Reads "
    "(accounts, balances, positions, orders, executions) still work, and executions import into TCA "
    "(await broker.fills_since(...)). To trade through ntlab, use an app Questrade has approved for "
    "trading, or build the adapter with trading=False to refuse orders without asking"
)


class QuestradeBroker:
    """Questrade as an ntlab broker.

    ``token_file``: the file that holds the refresh token (it is rewritten on every redemption: keep it
    private, never commit it). ``refresh_token`` seeds the file when it does not exist yet.
    ``order_map``: the file naming ntlab's orders (default beside the token file; ``False``: memory only).
    ``login_url``: Questrade's practice login unless the live-trading gate is open (the live login passed
    explicitly without the gate is refused). ``trading``: None = ask Questrade, False = refuse orders.
    """

    name = "questrade"
    local = False
    durable = True

    def __init__(
        self,
        token_file: str | Path,
        *,
        refresh_token: SecretStr | str | None = None,
        login_url: str | None = None,
        account_number: str | None = None,
        order_map: str | Path | bool = True,
        config: ExecutionConfig | None = None,
        trading: bool | None = None,
        currency: str = "USD",
        poll_interval: float | None = 1.0,
        timeout: float = 10.0,
        retry_initial: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        live = bool(config is not None and config.live)
        url = (login_url or (LIVE_LOGIN if live else PRACTICE_LOGIN)).rstrip("/")
        if (urlsplit(url).hostname or "") in _LIVE_HOSTS and not live:
            raise LiveTradingError(
                f"{url} is Questrade's live login; live trading needs ENABLE_LIVE_TRADING=true and "
                "PAPER_TRADING=false. Use the practice login (the default) otherwise"
            )
        self.live = live
        self.tokens = TokenFile(token_file)
        if refresh_token is not None and not self.tokens.exists():
            seed = refresh_token if isinstance(refresh_token, SecretStr) else SecretStr(refresh_token)
            if not seed.get_secret_value():
                raise ConfigError("the refresh token given is empty")
            self.tokens.store(seed)
        if order_map is True:
            map_path: Path | None = self.tokens.path.with_name(self.tokens.path.name + ".orders.json")
        elif order_map is False:
            map_path = None
        else:
            map_path = Path(order_map).expanduser()
        self.map = OrderMap.load(map_path)
        self.auth = QuestradeAuth(self.tokens, url, timeout=timeout, transport=transport)
        self.account_number = account_number
        self.can_trade = trading
        self.currency = currency
        self.poll_interval = poll_interval
        self._timeout = timeout
        self._retry_initial = retry_initial
        self._transport = transport
        self._rest: QuestradeRest | None = None
        self._sink: UpdateSink | None = None
        self._poller: asyncio.Task[None] | None = None
        self._polling = asyncio.Lock()
        self._offset = timedelta(0)
        self._since: datetime | None = None
        self._symbols: dict[str, int] = {}
        self._quotes: dict[str, Quote] = {}
        self._reported: dict[str, OrderStatus] = {}  # ntlab id -> last status reported through the sink
        self._fills_seen: set[str] = set()
        self.stats: dict[str, int] = {"polls": 0, "lookups": 0, "matched": 0}

    @classmethod
    def from_config(cls, config: ExecutionConfig, **options: Any) -> QuestradeBroker:
        """What ``Lab(broker="questrade")`` builds: QUESTRADE_TOKEN_FILE (the refresh token's file),
        QUESTRADE_REFRESH_TOKEN to seed it, QUESTRADE_ACCOUNT, QUESTRADE_LOGIN_URL (e.g. the local fake)."""
        if not config.questrade_token_file:
            raise ConfigError(
                "Questrade needs QUESTRADE_TOKEN_FILE: the file ntlab keeps the rotating refresh token in"
            )
        options.setdefault("refresh_token", config.questrade_refresh_token)
        options.setdefault("login_url", config.questrade_login_url)
        options.setdefault("account_number", config.questrade_account)
        return cls(config.questrade_token_file, config=config, **options)

    def __repr__(self) -> str:
        mode = "LIVE" if self.live else "practice"
        return (
            f"QuestradeBroker(login_url={self.auth.login_url!r}, mode={mode!r}, "
            f"token_file={str(self.tokens.path)!r}, refresh_token='***')"
        )

    __str__ = __repr__

    # --- lifecycle ------------------------------------------------------------------------------------------
    @property
    def rest(self) -> QuestradeRest:
        if self._rest is None:
            self._rest = QuestradeRest(
                self.auth, timeout=self._timeout, transport=self._transport, retry_initial=self._retry_initial
            )
        return self._rest

    async def connect(self, sink: UpdateSink) -> None:
        """Redeem the refresh token, learn Questrade's clock and the account, and start polling."""
        self._sink = sink
        await self._sync_clock()
        await self.account_id()
        self._since = self.now() - timedelta(days=1)
        if self.poll_interval and self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(self._poll_forever(self.poll_interval))

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._rest is not None:
            await self._rest.aclose()
            self._rest = None

    async def __aenter__(self) -> QuestradeBroker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def last_quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    async def _sync_clock(self) -> None:
        data = await self.rest.get("time")
        stamp = mapping.parse_time((data or {}).get("time"))
        if stamp is not None:
            self._offset = stamp.astimezone(UTC) - datetime.now(UTC)

    # --- accounts and symbols -------------------------------------------------------------------------------
    async def accounts(self) -> list[dict[str, Any]]:
        """``GET v1/accounts``: every account the token sees (type, number, status, isPrimary)."""
        data = await self.rest.get("accounts") or {}
        return list(data.get("accounts", []))

    async def account_id(self) -> str:
        """The account orders go to: the one named, else the primary, else the first."""
        if self.account_number is None:
            accounts = await self.accounts()
            if not accounts:
                raise BrokerError("Questrade lists no account for this token")
            primary = [a for a in accounts if a.get("isPrimary")] or accounts
            self.account_number = str(primary[0]["number"])
        return self.account_number

    async def symbol_id(self, symbol: str) -> int | None:
        """Questrade's numeric id for a symbol (``GET v1/symbols/search``), remembered."""
        known = self._symbols.get(symbol)
        if known is not None:
            return known
        data = await self.rest.get("symbols/search", {"prefix": symbol}) or {}
        for item in data.get("symbols", []):
            if str(item.get("symbol")) == symbol:
                self._symbols[symbol] = int(item["symbolId"])
                return self._symbols[symbol]
        return None

    # --- orders -----------------------------------------------------------------------------------------
    def _path(self, tail: str = "") -> str:
        assert self.account_number is not None, "connect first"
        return f"accounts/{self.account_number}/orders{tail}"

    async def submit_order(self, order: Order) -> list[OrderUpdate]:
        """POST the order once. An unclear outcome keeps what was sent, for the lookup rule."""
        if self.can_trade is False:
            return [Rejected(order.order_id, self.now(), PARTNER_ONLY, Reason.NOT_ALLOWED.value)]
        await self.account_id()
        symbol_id = await self.symbol_id(order.symbol)
        if symbol_id is None:
            reason = f"Questrade knows no symbol {order.symbol!r}"
            return [Rejected(order.order_id, self.now(), reason, Reason.UNKNOWN_SYMBOL.value)]
        try:
            body = mapping.order_body(order, self.account_number or "", symbol_id)
        except ValueError as error:
            return [Rejected(order.order_id, self.now(), str(error), Reason.FRACTIONAL_NOT_ALLOWED.value)]
        self.map.sending(
            order.order_id,
            Sent(
                symbol_id=symbol_id,
                side=body["action"],
                quantity=Decimal(body["quantity"]),
                order_type=body["orderType"],
                limit_price=body.get("limitPrice"),
                stop_price=body.get("stopPrice"),
                at=self.now(),
            ),
        )
        try:
            answer = await self.rest.attempt("POST", self._path(), body=body)
        except BrokerUnavailable:  # includes RateLimited: provably not sent
            self.map.not_sent(order.order_id)
            raise
        return self._placed(order, answer)

    def _placed(self, order: Order, answer: Answer) -> list[OrderUpdate]:
        data = answer.data if isinstance(answer.data, dict) else {}
        created = data.get("orderId")
        if created is not None:
            self.map.placed(order.order_id, created)
        else:
            if answer.kind != "server":
                self.map.not_sent(order.order_id)
        if answer.kind == "ok":
            records = data.get("orders") or []
            record = records[0] if records else None
            if record is not None and mapping.order_status(record) is S.REJECTED:
                reason = record.get("clientReasonStr") or "Questrade rejected the order"
                return [Rejected(order.order_id, self.now(), reason)]
            return [Accepted(order.order_id, self.now(), None if created is None else str(created))]
        if answer.kind == "forbidden":
            self.can_trade = False
            reason = f"{PARTNER_ONLY} (Questrade: {answer.error})"
            return [Rejected(order.order_id, self.now(), reason, Reason.NOT_ALLOWED.value)]
        if answer.kind in ("refused", "missing"):
            code = mapping.reject_reason(answer.code, answer.message)
            self._reported[order.order_id] = S.REJECTED
            return [Rejected(order.order_id, self.now(), answer.error, code)]
        if answer.kind == "server":
            raise BrokerTimeout(f"submit {order.order_id}: Questrade answered {answer.status}; look it up")
        self.rest.raise_for(answer, f"submit {order.order_id}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_order(self, questrade_id: str) -> dict[str, Any] | None:
        data = await self.rest.get(f"{self._path()}/{questrade_id}") or {}
        records = data.get("orders") or []
        return records[0] if records else None

    async def day_orders(self, state: str = "All") -> list[dict[str, Any]]:
        """``GET v1/accounts/{id}/orders`` from a day back (``stateFilter`` All, Open or Closed)."""
        await self.account_id()
        start = (self._since or self.now() - timedelta(days=1)) - timedelta(minutes=10)
        params = {
            "startTime": mapping.stamp(start),
            "endTime": mapping.stamp(self.now() + timedelta(days=1)),
            "stateFilter": state,
        }
        data = await self.rest.get(self._path(), params) or {}
        return list(data.get("orders", []))

    async def lookup_order(self, order_id: str) -> Order | None:
        """By the map when the Questrade id is known; after an unclear submit, by the lookup rule."""
        self.stats["lookups"] += 1
        await self.account_id()
        questrade_id = self.map.questrade_id(order_id)
        if questrade_id is None:
            if order_id not in self.map.sent:
                return None  # ntlab never sent it (and nobody else places ntlab's ids)
            found = self.map.match(order_id, await self.day_orders())
            if found is None:
                return None
            self.stats["matched"] += 1
            return mapping.broker_order(found, order_id)
        record = await self._get_order(questrade_id)
        return None if record is None else mapping.broker_order(record, order_id)

    async def open_orders(self) -> list[Order]:
        orders = []
        for record in await self.day_orders("Open"):
            owner = self.map.ntlab_id(record["id"])
            if self.map.current.get(owner, str(record["id"])) != str(record["id"]):
                continue  # an earlier incarnation of a replaced order
            orders.append(mapping.broker_order(record, owner))
        return orders

    async def cancel_order(self, order: Order) -> list[OrderUpdate]:
        """DELETE the order; Questrade answers ``{"orderId": N}`` and the outcome comes with the poll."""
        if self.can_trade is False:
            return [CancelRejected(order.order_id, self.now(), PARTNER_ONLY)]
        questrade_id = self.map.questrade_id(order.order_id)
        if questrade_id is None:
            return [CancelRejected(order.order_id, self.now(), "Questrade has no such order")]
        answer = await self.rest.attempt("DELETE", self._path(f"/{questrade_id}"))
        if answer.kind == "ok":
            return []
        if answer.kind == "forbidden":
            self.can_trade = False
            return [CancelRejected(order.order_id, self.now(), PARTNER_ONLY)]
        if answer.kind in ("refused", "missing"):
            found = await self.lookup_order(order.order_id)
            if found is not None and found.status.is_final and found.status is not S.FILLED:
                return broker_truth(found, order.order_id, (), ())
            return [CancelRejected(order.order_id, self.now(), answer.error)]
        self.rest.raise_for(answer, f"cancel {order.order_id}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def replace_order(self, order: Order, change: ReplaceChange) -> list[OrderUpdate]:
        """``POST .../orders/{orderId}``: Questrade makes a new order id; ntlab keeps its one id."""
        if self.can_trade is False:
            return [ReplaceRejected(order.order_id, self.now(), PARTNER_ONLY)]
        questrade_id = self.map.questrade_id(order.order_id)
        symbol_id = await self.symbol_id(order.symbol)
        if questrade_id is None or symbol_id is None:
            return [ReplaceRejected(order.order_id, self.now(), "Questrade has no such order")]
        wanted = {k: v for k, v in change._asdict().items() if v is not None}
        body = mapping.order_body(order, self.account_number or "", symbol_id, wanted)
        answer = await self.rest.attempt("POST", self._path(f"/{questrade_id}"), body=body)
        data = answer.data if isinstance(answer.data, dict) else {}
        if answer.kind == "ok" and data.get("orderId") is not None:
            new_id = str(data["orderId"])
            self.map.placed(order.order_id, new_id)
            return [
                Replaced(
                    order.order_id,
                    self.now(),
                    change.quantity,
                    change.limit_price,
                    change.stop_price,
                    new_id,
                )
            ]
        if answer.kind == "forbidden":
            self.can_trade = False
            return [ReplaceRejected(order.order_id, self.now(), PARTNER_ONLY)]
        if answer.kind in ("ok", "refused", "missing"):
            if data.get("orderId") is not None:  # an order error that made an order: it is the live one
                self.map.placed(order.order_id, data["orderId"])
            return [ReplaceRejected(order.order_id, self.now(), answer.error or "replace refused")]
        self.rest.raise_for(answer, f"replace {order.order_id}")
        raise AssertionError("unreachable")  # pragma: no cover

    # --- executions, positions, balances, quotes ----------------------------------------------------------
    async def executions(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """``GET v1/accounts/{id}/executions`` from ``since`` (a day back by default), Questrade's fields."""
        account = await self.account_id()
        start = since if since is not None else self.now() - timedelta(days=1)
        params = {
            "startTime": mapping.stamp(start - timedelta(minutes=10)),
            "endTime": mapping.stamp(self.now() + timedelta(days=1)),
        }
        data = await self.rest.get(f"accounts/{account}/executions", params) or {}
        return list(data.get("executions", []))

    async def fills_since(self, since: datetime | None) -> list[Fill]:
        """Every execution since a time as ntlab fills, named by the order map (``questrade-<id>`` for
        orders placed elsewhere). Works for read-only apps too: this is what TCA imports."""
        return [mapping.fill(e, self.map.ntlab_id(e["orderId"])) for e in await self.executions(since)]

    async def positions(self) -> list[Position]:
        account = await self.account_id()
        data = await self.rest.get(f"accounts/{account}/positions") or {}
        return [p for p in (mapping.position(i) for i in data.get("positions", [])) if p.quantity]

    async def balances(self) -> dict[str, Any]:
        """``GET v1/accounts/{id}/balances`` as Questrade sends it (per currency, combined, start of day)."""
        account = await self.account_id()
        return dict(await self.rest.get(f"accounts/{account}/balances") or {})

    async def account(self) -> Account:
        """Cash, equity and buying power in ``currency``; the day's P&L against the start-of-day equity."""
        data = await self.balances()
        now_row = _currency_row(data.get("perCurrencyBalances", []), self.currency)
        sod_row = _currency_row(data.get("sodPerCurrencyBalances", []), self.currency)
        if now_row is None:
            raise BrokerError(
                f"Questrade reports no {self.currency} balance for account {self.account_number}"
            )
        equity = mapping.dec(now_row.get("totalEquity")) or Decimal(0)
        sod = None if sod_row is None else mapping.dec(sod_row.get("totalEquity"))
        return Account(
            broker=self.name,
            currency=self.currency,
            cash=mapping.dec(now_row.get("cash")) or Decimal(0),
            equity=equity,
            buying_power=mapping.dec(now_row.get("buyingPower")),
            margin_used=None,
            day_pnl=None if sod is None else equity - sod,
            time=self.now(),
        )

    async def fetch_quote(self, symbol: str) -> Quote | None:
        symbol_id = await self.symbol_id(symbol)
        if symbol_id is None:
            return None
        data = await self.rest.get(f"markets/quotes/{symbol_id}") or {}
        for q in data.get("quotes", []):
            if q.get("bidPrice") is None or q.get("askPrice") is None:
                return None
            quote = Quote(
                symbol=symbol,
                time=mapping.parse_time(q.get("lastTradeTime")) or self.now(),
                bid=mapping.dec(q["bidPrice"]) or Decimal(0),
                ask=mapping.dec(q["askPrice"]) or Decimal(0),
                bid_size=mapping.dec(q.get("bidSize")) or Decimal(0),
                ask_size=mapping.dec(q.get("askSize")) or Decimal(0),
            )
            self._quotes[symbol] = quote
            return quote
        return None

    # --- polling: the news --------------------------------------------------------------------------------
    async def _poll_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.poll()
            except SessionClosed:
                return
            except Exception as error:  # a failed poll is tried again next time; never kills the loop
                log.warning(
                    "Questrade poll failed (%s); trying again in %.1fs", type(error).__name__, interval
                )

    async def poll(self) -> list[OrderUpdate]:
        """One look at the day's orders and executions; what changed goes to the sink (and is returned)."""
        async with self._polling:
            self.stats["polls"] += 1
            await self._sync_clock()
            records = {str(r["id"]): r for r in await self.day_orders()}
            updates: list[OrderUpdate] = []
            for execution in await self.executions(self._since):
                fill_id = str(execution["id"])
                owner = self.map.owners.get(str(execution["orderId"]))
                if owner is None or fill_id in self._fills_seen:
                    continue
                self._fills_seen.add(fill_id)
                updates.append(Filled(owner, mapping.fill(execution, owner)))
            for owner, questrade_id in list(self.map.current.items()):
                record = records.get(questrade_id)
                if record is None:
                    continue
                report = self._state_report(owner, record)
                if report is not None:
                    updates.append(report)
            if updates and self._sink is not None:
                await self._sink.handle_order_updates(updates)
            return updates

    def _state_report(self, owner: str, record: dict[str, Any]) -> OrderUpdate | None:
        status = mapping.order_status(record)
        if self._reported.get(owner) is status:
            return None
        when = mapping.parse_time(record.get("updateTime")) or self.now()
        reason = record.get("clientReasonStr") or None
        report: OrderUpdate | None = None
        if status is S.CANCELLED:
            report = Cancelled(owner, when, reason)
        elif status is S.EXPIRED:
            report = Expired(owner, when, reason)
        elif status is S.REJECTED:
            report = Rejected(owner, when, reason or "Questrade rejected the order")
        elif status is S.PENDING_CANCEL:
            report = PendingCancel(owner, when)
        elif status in (S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED) and owner not in self._reported:
            report = Accepted(
                owner, mapping.parse_time(record.get("creationTime")) or when, str(record["id"])
            )
        self._reported[owner] = status
        return report


def _currency_row(rows: list[dict[str, Any]], currency: str) -> dict[str, Any] | None:
    for row in rows:
        if str(row.get("currency")) == currency:
            return row
    return None


__all__ = ["LIVE_LOGIN", "PARTNER_ONLY", "PRACTICE_LOGIN", "QuestradeBroker"]
