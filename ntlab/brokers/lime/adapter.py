"""LimeBroker: the Broker protocol over the Lime Trader API (REST on ``api.lime.co``, auth on
``auth.lime.co``) and its account websocket.

Lime's official SDK (``lime-trader-sdk``) is synchronous at heart (its async client still builds URLs
without a port and runs the account feed on a thread with ``websocket-client``), so the adapter speaks the
API with httpx and websockets; the tests drive the fake with the SDK to keep both honest.

Orders carry ntlab's id as ``client_order_id`` (see :mod:`ntlab.brokers.lime.mapping`), so a retry after
an unclear submit is settled by ``GET /orders?client_order_id=``. Each order is checked first with
``POST /orders/validate`` (Lime places every order "accepted" and rejects it later otherwise; validating
makes a refusal the submit's own answer, as the SDK's ``validate_and_place_order`` does).

The gate: Lime's paper accounts live on the same host, numbered ``...@demo``. Without the live-trading
gate the adapter trades only such an account and refuses any other with ``LiveTradingError``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from ntlab.brokers.lime import mapping
from ntlab.brokers.lime.rest import Answer, Credentials, LimeRest
from ntlab.brokers.lime.stream import AccountFeed
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
    ReplaceRejected,
)
from ntlab.core.submit import broker_truth
from ntlab.errors import BrokerError, BrokerTimeout, ConfigError, LiveTradingError, Reason, SessionClosed

if TYPE_CHECKING:
    from ntlab.config import ExecutionConfig

log = logging.getLogger(__name__)

BASE_URL = "https://api.lime.co"
AUTH_URL = "https://auth.lime.co"
PAPER_SUFFIX = "@demo"
S = OrderStatus


class LimeBroker:
    """Lime as an ntlab broker. ``account_number``: the account to trade (default: the first listed;
    without the live-trading gate it must be a paper ``@demo`` account)."""

    name = "lime"
    local = False
    durable = True

    def __init__(
        self,
        username: str,
        password: SecretStr | str,
        client_id: str,
        client_secret: SecretStr | str,
        *,
        account_number: str | None = None,
        base_url: str | None = None,
        auth_url: str | None = None,
        stream_url: str | None = None,
        config: ExecutionConfig | None = None,
        validate: bool = True,
        stream: bool = True,
        timeout: float = 10.0,
        retry_initial: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        secret = password if isinstance(password, SecretStr) else SecretStr(password)
        client_secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        missing = [n for n, v in (("LIME_USERNAME", username), ("LIME_CLIENT_ID", client_id)) if not v]
        missing += [
            n
            for n, v in (("LIME_PASSWORD", secret), ("LIME_CLIENT_SECRET", client_secret))
            if not v.get_secret_value()
        ]
        if missing:
            raise ConfigError(f"Lime needs {', '.join(missing)}")
        self.live = bool(config is not None and config.live)
        self.base_url = (base_url or BASE_URL).rstrip("/")
        self.auth_url = (auth_url or AUTH_URL).rstrip("/")
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.stream_url = stream_url or f"{scheme}://{parts.netloc}/accounts"
        self.account_number = account_number
        if account_number is not None:
            self._check_gate(account_number)
        self.validate = validate
        self._use_stream = stream
        self.rest = LimeRest(
            self.base_url,
            self.auth_url,
            Credentials(username, secret, client_id, client_secret),
            timeout=timeout,
            transport=transport,
            retry_initial=retry_initial,
        )
        self._timeout = timeout
        self._sink: UpdateSink | None = None
        self._feed: AccountFeed | None = None
        self.book = mapping.TradeBook()
        self._orders: dict[str, dict[str, Any]] = {}  # Lime order id -> its latest record
        self._created: dict[str, datetime] = {}  # Lime order id -> first seen
        self._reported: dict[str, OrderStatus] = {}  # ntlab id -> last status told to the sink
        self._held: dict[str, OrderUpdate] = {}  # Lime order id -> a final state waiting for its trades
        self._quotes: dict[str, Quote] = {}
        self.stats: dict[str, int] = {"frames": 0, "lookups": 0, "reconnects": 0}

    @classmethod
    def from_config(cls, config: ExecutionConfig, **options: Any) -> LimeBroker:
        """What ``Lab(broker="lime")`` builds: LIME_USERNAME, LIME_PASSWORD, LIME_CLIENT_ID,
        LIME_CLIENT_SECRET, LIME_ACCOUNT, LIME_BASE_URL and LIME_AUTH_URL (e.g. the local fake)."""
        for key, value in (("base_url", config.lime_base_url), ("auth_url", config.lime_auth_url)):
            options.setdefault(key, value)
        options.setdefault("account_number", config.lime_account)
        return cls(
            config.lime_username or "",
            config.lime_password or SecretStr(""),
            config.lime_client_id or "",
            config.lime_client_secret or SecretStr(""),
            config=config,
            **options,
        )

    def __repr__(self) -> str:
        mode = "LIVE" if self.live else "paper"
        return (
            f"LimeBroker(base_url={self.base_url!r}, auth_url={self.auth_url!r}, mode={mode!r}, "
            f"account={self.account_number!r}, password='***', client_secret='***')"
        )

    __str__ = __repr__

    def _check_gate(self, account: str) -> None:
        if not self.live and not account.endswith(PAPER_SUFFIX):
            raise LiveTradingError(
                f"Lime account {account} is not a paper ({PAPER_SUFFIX}) account; live trading needs "
                "ENABLE_LIVE_TRADING=true and PAPER_TRADING=false. Use your paper account otherwise"
            )

    # --- lifecycle ----------------------------------------------------------------------------------------
    async def connect(self, sink: UpdateSink) -> None:
        """Log in, choose the account, and subscribe to its orders and trades (the day's state first)."""
        self._sink = sink
        await self.account_id()
        if self._use_stream and self._feed is None:
            self._feed = AccountFeed(
                self.stream_url,
                self.rest.auth,
                self.account_number or "",
                self._on_frame,
                self._on_reconnect,
                open_timeout=self._timeout,
            )
            await self._feed.start()
            await self._feed.drain()  # the day's orders and trades are known before reconciliation asks

    async def close(self) -> None:
        if self._feed is not None:
            await self._feed.close()
            self._feed = None
        await self.rest.aclose()

    @property
    def feed(self) -> AccountFeed | None:
        return self._feed

    def now(self) -> datetime:
        return datetime.now(UTC)

    def last_quote(self, symbol: str) -> Quote | None:
        return self._quotes.get(symbol)

    async def accounts(self) -> list[dict[str, Any]]:
        """``GET /accounts``: every account with its balances, Lime's field names."""
        return list(await self.rest.get("/accounts") or [])

    async def account_id(self) -> str:
        if self.account_number is None:
            accounts = await self.accounts()
            if not accounts:
                raise BrokerError("Lime lists no account for these credentials")
            paper = [a for a in accounts if str(a["account_number"]).endswith(PAPER_SUFFIX)]
            chosen = (accounts if self.live else paper or accounts)[0]
            self._check_gate(str(chosen["account_number"]))
            self.account_number = str(chosen["account_number"])
        return self.account_number

    # --- orders -----------------------------------------------------------------------------------------
    def _learn(self, data: dict[str, Any]) -> Order:
        lime_id = str(data["client_id"])
        self._orders[lime_id] = data
        self._created.setdefault(lime_id, mapping.parse_time(data.get("transaction_timestamp")) or self.now())
        return mapping.broker_order(data, created=self._created[lime_id])

    async def submit_order(self, order: Order) -> list[OrderUpdate]:
        """Validate, then place once. A refused duplicate client order id means an earlier send arrived."""
        if order.order_type not in mapping.ORDER_TYPE or order.time_in_force not in mapping.TIME_IN_FORCE:
            reason = f"Lime takes market and limit orders, day/ioc/fok/opg/cls: not {order.order_type} {order.time_in_force}"
            return [Rejected(order.order_id, self.now(), reason, Reason.NOT_ALLOWED.value)]
        account = await self.account_id()
        try:
            body = mapping.order_body(order, account)
        except ValueError as error:
            return [Rejected(order.order_id, self.now(), str(error), Reason.FRACTIONAL_NOT_ALLOWED.value)]
        if self.validate:
            check = await self.rest.attempt("POST", "/orders/validate", body=body)
            if check.kind == "ok" and isinstance(check.data, dict) and not check.data.get("is_valid", True):
                message = str(check.data.get("validation_message") or "Lime found the order invalid")
                return [Rejected(order.order_id, self.now(), message, mapping.refusal_reason(message))]
            if check.kind != "ok":
                self._refuse_or_raise(order, check, "validate")
        answer = await self.rest.attempt("POST", "/orders/place", body=body)
        if answer.kind == "ok" and isinstance(answer.data, dict) and answer.data.get("success"):
            self._reported[order.order_id] = S.ACCEPTED
            return [Accepted(order.order_id, self.now(), str(answer.data["data"]))]
        if answer.kind == "refused" and "duplicate" in answer.message.lower():
            raise BrokerTimeout(f"submit {order.order_id}: Lime already has this client order id; look it up")
        return self._refuse_or_raise(order, answer, "submit")

    def _refuse_or_raise(self, order: Order, answer: Answer, what: str) -> list[OrderUpdate]:
        if answer.kind in ("refused", "missing") or (answer.kind == "ok"):
            message = answer.error or "Lime refused the order"
            return [Rejected(order.order_id, self.now(), message, mapping.refusal_reason(message))]
        if answer.kind == "server":
            if what == "validate":  # nothing placed yet: safe to send again
                from ntlab.errors import BrokerUnavailable

                raise BrokerUnavailable(f"validate {order.order_id}: Lime answered {answer.status}")
            raise BrokerTimeout(f"submit {order.order_id}: Lime answered {answer.status}; look it up")
        self.rest.raise_for(answer, f"{what} {order.order_id}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def lookup_order(self, order_id: str) -> Order | None:
        """``GET /orders?client_order_id=``; orders placed elsewhere without one are ``lime-<id>``."""
        self.stats["lookups"] += 1
        if order_id.startswith("lime-"):
            data = await self.rest.get(f"/orders/{order_id[5:]}")
        else:
            data = await self.rest.get("/orders", {"client_order_id": mapping.client_order_id(order_id)})
        return None if not data else self._learn(data)

    async def open_orders(self) -> list[Order]:
        account = await self.account_id()
        return [self._learn(d) for d in await self.rest.get(f"/accounts/{account}/activeorders") or []]

    def _lime_id(self, order: Order) -> str | None:
        if order.broker_order_id:
            return order.broker_order_id
        return next((i for i, d in self._orders.items() if mapping.ntlab_id(d) == order.order_id), None)

    async def cancel_order(self, order: Order) -> list[OrderUpdate]:
        """``POST /orders/{id}/cancel``; the ``canceled`` order frame brings the outcome."""
        lime_id = self._lime_id(order)
        if lime_id is None:
            found = await self.lookup_order(order.order_id)
            lime_id = None if found is None else found.broker_order_id
        if lime_id is None:
            return [CancelRejected(order.order_id, self.now(), "Lime has no such order")]
        answer = await self.rest.attempt(
            "POST", f"/orders/{lime_id}/cancel", body={"message": "ntlab cancel"}
        )
        if answer.kind == "ok" and isinstance(answer.data, dict) and answer.data.get("success"):
            return []
        if answer.kind in ("ok", "refused", "missing"):
            found = await self.lookup_order(order.order_id)
            if found is not None and found.status.is_final and found.status is not S.FILLED:
                return broker_truth(found, order.order_id, (), ())
            return [CancelRejected(order.order_id, self.now(), answer.error or "Lime refused the cancel")]
        self.rest.raise_for(answer, f"cancel {order.order_id}")
        raise AssertionError("unreachable")  # pragma: no cover

    async def replace_order(self, order: Order, change: ReplaceChange) -> list[OrderUpdate]:
        """Lime's API has no replace: cancel and place a new order instead."""
        return [
            ReplaceRejected(
                order.order_id, self.now(), "Lime's API has no order replace; cancel and place anew"
            )
        ]

    # --- fills, positions, account, quotes ----------------------------------------------------------------
    async def trades(self, day: datetime) -> list[dict[str, Any]]:
        """``GET /accounts/{acct}/trades/{date}``, every page (newest first, as Lime sends them)."""
        account = await self.account_id()
        rows: list[dict[str, Any]] = []
        skip = 0
        while True:
            page = (
                await self.rest.get(
                    f"/accounts/{account}/trades/{day:%Y-%m-%d}", {"limit": 100, "skip": skip}
                )
                or {}
            )
            batch = list(page.get("trades", []))
            rows.extend(batch)
            skip += len(batch)
            if not batch or skip >= int(page.get("count", 0)):
                return rows

    async def fills_since(self, since: datetime | None) -> list[Fill]:
        """The trades of ``since``'s day and of every day the book has seen since, joined to their orders."""
        start = (since or self.now()) - timedelta(minutes=10)
        known = [t.time for t in self.book.trades.values()] + list(self._created.values())
        days = {start.astimezone(UTC).date()} | {t.astimezone(UTC).date() for t in known if t >= start}
        for day in sorted(days):
            for row in await self.trades(datetime(day.year, day.month, day.day, tzinfo=UTC)):
                self.book.trade(mapping.Trade.from_wire(row))
        # Every fill the book holds: Lime's clock and this machine's may differ, and callers match fills
        # to their orders by id anyway.
        return self.book.fills()

    async def positions(self) -> list[Position]:
        account = await self.account_id()
        rows = await self.rest.get(f"/accounts/{account}/positions") or []
        return [p for p in (mapping.position(r) for r in rows) if p.quantity]

    async def account(self) -> Account:
        """Cash, total value and buying power (margin buying power on a margin account) of the account."""
        account = await self.account_id()
        row = next((a for a in await self.accounts() if a["account_number"] == account), None)
        if row is None:
            raise BrokerError(f"Lime lists no balances for {account}")
        margin = str(row.get("margin_type", "cash")) != "cash"
        power = row.get("margin_buying_power") if margin else row.get("non_margin_buying_power")
        return Account(
            broker=self.name,
            currency="USD",
            cash=mapping.dec(row.get("cash")) or Decimal(0),
            equity=mapping.dec(row.get("account_value_total")) or Decimal(0),
            buying_power=mapping.dec(power),
            margin_used=None,
            day_pnl=None,
            time=self.now(),
        )

    async def fetch_quote(self, symbol: str) -> Quote | None:
        data = await self.rest.get("/marketdata/quote", {"symbol": symbol})
        if not data or data.get("bid") is None:
            return None
        quote = Quote(
            symbol=symbol,
            time=mapping.parse_time(data.get("date")) or self.now(),
            bid=mapping.dec(data["bid"]) or Decimal(0),
            ask=mapping.dec(data["ask"]) or Decimal(0),
            bid_size=mapping.dec(data.get("bid_size")) or Decimal(0),
            ask_size=mapping.dec(data.get("ask_size")) or Decimal(0),
        )
        self._quotes[symbol] = quote
        return quote

    # --- the account feed ---------------------------------------------------------------------------------
    async def _on_frame(self, frame: dict[str, Any]) -> None:
        self.stats["frames"] += 1
        kind = frame.get("t")
        updates: list[OrderUpdate] = []
        if kind == "e":
            log.warning("Lime account feed error %s: %s", frame.get("code"), frame.get("description"))
            return
        if kind == "o":
            for data in frame.get("data") or []:
                order = self._learn(data)
                updates.extend(Filled(f.order_id, f) for f in self.book.order(data))
                report = self._state_report(order)
                if report is not None:
                    self._held[str(data["client_id"])] = report
        elif kind == "t":
            for data in frame.get("data") or []:
                updates.extend(Filled(f.order_id, f) for f in self.book.trade(mapping.Trade.from_wire(data)))
        for lime_id in list(self._held):
            if self.book.settled(lime_id):  # a final state goes out only after every trade it implies
                updates.append(self._held.pop(lime_id))
        if updates and self._sink is not None:
            try:
                await self._sink.handle_order_updates(updates)
            except SessionClosed:
                log.debug("%d Lime updates arrived after the session closed", len(updates))

    def _state_report(self, order: Order) -> OrderUpdate | None:
        status = order.status
        if self._reported.get(order.order_id) is status:
            return None
        self._reported[order.order_id] = status
        when = order.updated_at
        if status is S.CANCELLED:
            return Cancelled(order.order_id, when)
        if status is S.EXPIRED:
            return Expired(order.order_id, when)
        if status is S.REJECTED:
            return Rejected(order.order_id, when, "Lime rejected the order")
        if status is S.PENDING_CANCEL:
            return PendingCancel(order.order_id, when)
        if status is S.ACCEPTED:
            return Accepted(order.order_id, order.created_at, order.broker_order_id)
        return None

    async def _on_reconnect(self) -> None:
        self.stats["reconnects"] += 1
        if self._sink is None:
            return
        try:
            await self._sink.reconcile()
        except SessionClosed:
            log.debug("no reconciliation: the session closed")

    async def wait_idle(self) -> None:
        """Wait until every feed frame received so far has reached the sink (tests, notebooks)."""
        if self._feed is not None:
            await self._feed.drain()


__all__ = ["AUTH_URL", "BASE_URL", "LimeBroker"]
