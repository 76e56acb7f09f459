"""What the fake TWS writes: each message TWS sends to an API client, field for field at server version 178.

Each function returns the message's fields in the order ib_async's decoder reads them (checked in
``tests/ib/test_wire.py`` by decoding every one with ``ib_async.decoder.Decoder``: a message one field short
is dropped by ib_async with a log line only, so nothing else would notice). Fields TWS leaves unset carry
its sentinels, as the real openOrder does.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ntlab.brokers.ib.fake_catalog import ContractSpec
from ntlab.brokers.ib.fake_orders import TwsExecution, TwsOrder, unset
from ntlab.brokers.ib.wire import EASTERN, UNSET_DOUBLE, UNSET_INTEGER, In, tws_time
from ntlab.core.instruments import AssetKind

Fields = list[object]
SERVER_VERSION = 178
ZERO = Decimal(0)


def hello(version: int, when: datetime) -> Fields:
    """The handshake's answer: exactly two fields, the server version and the connection time."""
    local = when.astimezone(EASTERN)
    return [version, local.strftime("%Y%m%d %H:%M:%S ") + (local.tzname() or "EST")]


def managed_accounts(accounts: list[str]) -> Fields:
    return [In.MANAGED_ACCTS, 1, ",".join(accounts)]


def next_valid_id(order_id: int) -> Fields:
    return [In.NEXT_VALID_ID, 1, order_id]


def error(req_id: int, code: int, message: str, advanced: str = "") -> Fields:
    """An error, warning or notice (reqId -1 when it concerns no request)."""
    return [In.ERR_MSG, 2, req_id, code, message, advanced]


def current_time(epoch: int) -> Fields:
    return [In.CURRENT_TIME, 1, epoch]


def _contract(spec: ContractSpec, exchange: str | None = None) -> Fields:
    """The eleven contract fields of openOrder, executions and positions (no primary exchange)."""
    return [
        spec.con_id,
        spec.symbol,
        spec.sec_type,
        "",
        ZERO,
        "",
        "",
        spec.exchange if exchange is None else exchange,
        spec.currency,
        spec.local_symbol,
        spec.trading_class,
    ]


def contract_details(req_id: int, spec: ContractSpec, hours: str) -> Fields:
    stock_type = "ETF" if spec.long_name.endswith("ETF TRUST") else "COMMON"
    equity = spec.kind is AssetKind.EQUITY
    return [
        In.CONTRACT_DATA,
        req_id,
        spec.symbol,
        spec.sec_type,
        "",  # lastTradeDate (and time and zone)
        ZERO,  # strike
        "",  # right
        spec.exchange,
        spec.currency,
        spec.local_symbol,
        spec.trading_class,  # marketName
        spec.trading_class,
        spec.con_id,
        spec.min_tick,
        "",  # multiplier
        spec.order_types,
        spec.valid_exchanges,
        1,  # priceMagnifier
        0,  # underConId
        spec.long_name,
        spec.primary_exchange,
        "",  # contractMonth
        "Technology" if equity else "",
        "",
        "",
        "US/Eastern",
        hours,
        hours,
        "",  # evRule
        "",  # evMultiplier
        0,  # secIdList
        1,  # aggGroup
        "",  # underSymbol
        "",  # underSecType
        "26" if equity else "239",  # marketRuleIds
        "",  # realExpirationDate
        stock_type if equity else "",
        spec.size_increment,  # minSize
        spec.size_increment,
        Decimal(100) if equity else spec.size_increment,  # suggestedSizeIncrement
    ]


def contract_details_end(req_id: int) -> Fields:
    return [In.CONTRACT_DATA_END, 1, req_id]


def order_status(order: TwsOrder) -> Fields:
    avg = order.avg_price if order.filled else ZERO
    return [
        In.ORDER_STATUS,
        order.order_id,
        order.status,
        order.filled,
        order.remaining if order.status not in ("Cancelled", "ApiCancelled", "Inactive") else ZERO,
        avg,
        order.perm_id,
        order.parent_id,
        order.last_fill_price,
        order.client_id,
        order.why_held,
        ZERO,  # mktCapPrice
    ]


def _prices(order: TwsOrder) -> tuple[Decimal, Decimal]:
    """lmtPrice and auxPrice as openOrder shows them: 0 where the order type has none."""
    return (order.lmt_price or ZERO, order.aux_price or ZERO)


def open_order(order: TwsOrder, *, what_if: tuple[Decimal, Decimal, Decimal] | None = None) -> Fields:
    """openOrder (message 5) for a plain, non-combo order; ``what_if`` gives the margin and commission
    figures (initial margin change, maintenance margin change, commission) of a what-if answer."""
    lmt, aux = _prices(order)
    unset_i = UNSET_INTEGER
    fields: Fields = [
        In.OPEN_ORDER,
        order.order_id,
        *_contract(order.spec),
        order.action,
        order.quantity,
        order.order_type,
        lmt,
        aux,
        order.tif,
        order.oca_group,
        order.account,
        "O",  # openClose
        0,  # origin: customer
        order.order_ref,
        order.client_id,
        order.perm_id,
        order.outside_rth,
        False,  # hidden
        ZERO,  # discretionaryAmt
        "",  # goodAfterTime
        "",  # sharesAllocation (deprecated)
        "",  # faGroup
        "",  # faMethod
        "",  # faPercentage
        # server version >= 177: no faProfile
        "",  # modelCode
        order.good_till_date,
        "",  # rule80A
        UNSET_DOUBLE,  # percentOffset
        "",  # settlingFirm
        0,  # shortSaleSlot
        "",  # designatedLocation
        -1,  # exemptCode
        0,  # auctionStrategy
        UNSET_DOUBLE,  # startingPrice
        UNSET_DOUBLE,  # stockRefPrice
        UNSET_DOUBLE,  # delta
        UNSET_DOUBLE,  # stockRangeLower
        UNSET_DOUBLE,  # stockRangeUpper
        0,  # displaySize
        False,  # blockOrder
        False,  # sweepToFill
        False,  # allOrNone
        unset_i,  # minQty
        order.oca_type,
        False,  # eTradeOnly
        False,  # firmQuoteOnly
        UNSET_DOUBLE,  # nbboPriceCap
        order.parent_id,
        0,  # triggerMethod
        UNSET_DOUBLE,  # volatility
        unset_i,  # volatilityType
        "",  # deltaNeutralOrderType (none: no delta-neutral fields follow)
        UNSET_DOUBLE,  # deltaNeutralAuxPrice
        False,  # continuousUpdate
        unset_i,  # referencePriceType
        unset(order.trail_stop_price),
        unset(order.trailing_percent),
        UNSET_DOUBLE,  # basisPoints
        unset_i,  # basisPointsType
        "",  # comboLegsDescrip
        0,  # comboLegs
        0,  # orderComboLegs
        0,  # smartComboRoutingParams
        unset_i,  # scaleInitLevelSize
        unset_i,  # scaleSubsLevelSize
        UNSET_DOUBLE,  # scalePriceIncrement (unset: no scale fields follow)
        "",  # hedgeType (none: no hedgeParam)
        False,  # optOutSmartRouting
        "",  # clearingAccount
        "",  # clearingIntent
        False,  # notHeld
        False,  # deltaNeutralContract present
        "",  # algoStrategy (none: no algo params)
        False,  # solicited
        what_if is not None,
        order.status,
    ]
    if what_if is None:
        fields += [UNSET_DOUBLE] * 9 + [UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, "", ""]
    else:
        init_change, maint_change, commission = what_if
        margins = [ZERO, ZERO, ZERO, init_change, maint_change, ZERO, init_change, maint_change, ZERO]
        fields += [*margins, commission, commission, commission, order.spec.currency, ""]
    fields += [
        False,  # randomizeSize
        False,  # randomizePrice
        0,  # conditions
        "",  # adjustedOrderType
        UNSET_DOUBLE,  # triggerPrice
        unset(order.trail_stop_price),
        UNSET_DOUBLE,  # lmtPriceOffset
        UNSET_DOUBLE,  # adjustedStopPrice
        UNSET_DOUBLE,  # adjustedStopLimitPrice
        UNSET_DOUBLE,  # adjustedTrailingAmount
        0,  # adjustableTrailingUnit
        "",  # softDollarTier name
        "",  # softDollarTier value
        "",  # softDollarTier displayName
        UNSET_DOUBLE,  # cashQty
        False,  # dontUseAutoPriceForHedge
        False,  # isOmsContainer
        False,  # discretionaryUpToLimitPrice
        False,  # usePriceMgmtAlgo
        unset_i,  # duration (>= 159)
        unset_i,  # postToAts (>= 160)
        False,  # autoCancelParent (>= 162)
        unset_i,  # minTradeQty (>= 170)
        unset_i,  # minCompeteSize
        UNSET_DOUBLE,  # competeAgainstBestOffset
        UNSET_DOUBLE,  # midOffsetAtWhole
        UNSET_DOUBLE,  # midOffsetAtHalf
    ]
    return fields


def open_order_end() -> Fields:
    return [In.OPEN_ORDER_END, 1]


def completed_order(order: TwsOrder) -> Fields:
    """completedOrder (message 101): a finished order, without orderId or clientId (permId names it)."""
    lmt, aux = _prices(order)
    unset_i = UNSET_INTEGER
    return [
        In.COMPLETED_ORDER,
        *_contract(order.spec),
        order.action,
        order.quantity,
        order.order_type,
        lmt,
        aux,
        order.tif,
        order.oca_group,
        order.account,
        "O",
        0,
        order.order_ref,
        order.perm_id,
        order.outside_rth,
        False,  # hidden
        ZERO,  # discretionaryAmt
        "",  # goodAfterTime
        "",  # faGroup
        "",  # faMethod
        "",  # faPercentage
        "",  # modelCode
        order.good_till_date,
        "",  # rule80A
        UNSET_DOUBLE,  # percentOffset
        "",  # settlingFirm
        0,  # shortSaleSlot
        "",  # designatedLocation
        -1,  # exemptCode
        UNSET_DOUBLE,  # startingPrice
        UNSET_DOUBLE,  # stockRefPrice
        UNSET_DOUBLE,  # delta
        UNSET_DOUBLE,  # stockRangeLower
        UNSET_DOUBLE,  # stockRangeUpper
        0,  # displaySize
        False,  # sweepToFill
        False,  # allOrNone
        unset_i,  # minQty
        order.oca_type,
        0,  # triggerMethod
        UNSET_DOUBLE,  # volatility
        unset_i,  # volatilityType
        "",  # deltaNeutralOrderType
        UNSET_DOUBLE,  # deltaNeutralAuxPrice
        False,  # continuousUpdate
        unset_i,  # referencePriceType
        unset(order.trail_stop_price),
        unset(order.trailing_percent),
        "",  # comboLegsDescrip
        0,
        0,
        0,
        unset_i,
        unset_i,
        UNSET_DOUBLE,
        "",  # hedgeType
        "",  # clearingAccount
        "",  # clearingIntent
        False,  # notHeld
        False,  # deltaNeutralContract present
        "",  # algoStrategy
        False,  # solicited
        order.status,
        False,  # randomizeSize
        False,  # randomizePrice
        0,  # conditions
        unset(order.trail_stop_price),
        UNSET_DOUBLE,  # lmtPriceOffset
        UNSET_DOUBLE,  # cashQty
        False,  # dontUseAutoPriceForHedge
        False,  # isOmsContainer
        "",  # autoCancelDate
        order.filled,
        0,  # refFuturesConId
        False,  # autoCancelParent
        "",  # shareholder
        False,  # imbalanceOnly
        False,  # routeMarketableToBbo
        0,  # parentPermId
        order.completed_time,
        order.completed_status,
        unset_i,  # minTradeQty
        unset_i,  # minCompeteSize
        UNSET_DOUBLE,
        UNSET_DOUBLE,
        UNSET_DOUBLE,
    ]


def completed_orders_end() -> Fields:
    return [In.COMPLETED_ORDERS_END]


def exec_details(req_id: int, execution: TwsExecution, account: str) -> Fields:
    spec = execution.spec
    venue = spec.execution_exchange
    return [
        In.EXECUTION_DATA,
        req_id,
        execution.order_id,
        *_contract(spec, venue),
        execution.exec_id,
        tws_time(execution.time),
        account,
        venue,
        execution.side,
        execution.shares,
        execution.price,
        execution.perm_id,
        execution.client_id,
        0,  # liquidation
        execution.cum_qty,
        execution.avg_price,
        execution.order_ref,
        "",  # evRule
        "",  # evMultiplier
        "",  # modelCode
        execution.liquidity,
        False,  # pendingPriceRevision (>= 178)
    ]


def exec_details_end(req_id: int) -> Fields:
    return [In.EXECUTION_DATA_END, 1, req_id]


def commission_report(execution: TwsExecution) -> Fields:
    realized = UNSET_DOUBLE if execution.realized_pnl is None else execution.realized_pnl
    return [
        In.COMMISSION_REPORT,
        1,
        execution.exec_id,
        execution.commission,
        execution.spec.currency,
        realized,
        UNSET_DOUBLE,  # yield
        "",  # yieldRedemptionDate
    ]


def position(account: str, spec: ContractSpec, quantity: Decimal, avg_cost: Decimal) -> Fields:
    exchange = spec.primary_exchange if spec.kind is AssetKind.EQUITY else spec.exchange
    return [In.POSITION_DATA, 3, account, *_contract(spec, exchange), quantity, avg_cost]


def position_end() -> Fields:
    return [In.POSITION_END, 1]


def account_value(tag: str, value: object, currency: str, account: str) -> Fields:
    return [In.ACCT_VALUE, 2, tag, value, currency, account]


def portfolio_value(
    spec: ContractSpec,
    quantity: Decimal,
    price: Decimal,
    avg_cost: Decimal,
    realized: Decimal,
    account: str,
) -> Fields:
    value = quantity * price
    unrealized = value - quantity * avg_cost
    return [
        In.PORTFOLIO_VALUE,
        8,
        spec.con_id,
        spec.symbol,
        spec.sec_type,
        "",
        ZERO,
        "",
        "",
        spec.primary_exchange,
        spec.currency,
        spec.local_symbol,
        spec.trading_class,
        quantity,
        price,
        value,
        avg_cost,
        unrealized,
        realized,
        account,
    ]


def account_update_time(when: datetime) -> Fields:
    return [In.ACCT_UPDATE_TIME, 1, when.astimezone(EASTERN).strftime("%H:%M")]


def account_download_end(account: str) -> Fields:
    return [In.ACCT_DOWNLOAD_END, 1, account]


def account_update_multi(req_id: int, account: str, tag: str, value: object, currency: str) -> Fields:
    return [In.ACCOUNT_UPDATE_MULTI, 1, req_id, account, "", tag, value, currency]


def account_update_multi_end(req_id: int) -> Fields:
    return [In.ACCOUNT_UPDATE_MULTI_END, 1, req_id]


def account_summary(req_id: int, account: str, tag: str, value: object, currency: str) -> Fields:
    return [In.ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency]


def account_summary_end(req_id: int) -> Fields:
    return [In.ACCOUNT_SUMMARY_END, 1, req_id]


def tick_price(req_id: int, tick_type: int, price: Decimal, size: Decimal) -> Fields:
    return [In.TICK_PRICE, 6, req_id, tick_type, price, size, 0]


def tick_size(req_id: int, tick_type: int, size: Decimal) -> Fields:
    return [In.TICK_SIZE, 6, req_id, tick_type, size]


def tick_snapshot_end(req_id: int) -> Fields:
    return [In.TICK_SNAPSHOT_END, 1, req_id]


def market_data_type(req_id: int, data_type: int) -> Fields:
    return [In.MARKET_DATA_TYPE, 1, req_id, data_type]


def pnl(req_id: int, daily: Decimal, unrealized: Decimal, realized: Decimal) -> Fields:
    return [In.PNL, req_id, daily, unrealized, realized]
