"""Builders for events with every argument defaulted: ``an_order_filled(price=4300)``.

Ids are deterministic from the arguments that identify the event, so two calls with the same
arguments build the same event (as a retried command would).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.decision import DECISION_CODE
from domain.events import (
    Action,
    ClimateReportRecorded,
    ConfigVersionRecorded,
    DecisionMade,
    Event,
    ForecastPeriod,
    MarketKind,
    MarketQuote,
    MarketSettled,
    MarketSnapshotted,
    Observation,
    OrderAccepted,
    OrderFilled,
    OrderSubmitted,
    Side,
    WeatherSnapshotted,
    config_version_of,
    deterministic_id,
)
from domain.events.trading import BinProbability, Edge, IntendedOrder
from domain.money import taker_fee

T0 = datetime(2026, 8, 28, 14, 0, tzinfo=UTC)
CORRELATION = uuid.UUID("00000000-0000-4000-8000-000000000001")
_counter = itertools.count(1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def envelope(stream: str, version: int = 1, *, recorded_at: datetime = T0, key: object = None,
             correlation_id: uuid.UUID = CORRELATION) -> dict[str, object]:
    return {
        "event_id": deterministic_id("test", stream, version, key),
        "stream": stream,
        "version": version,
        "recorded_at": recorded_at,
        "correlation_id": correlation_id,
    }


def a_ladder(event_ticker: str = "KXHIGHNY-26AUG28", *, low: int = 79, best_yes_bid: int = 3000,
             best_no_bid: int = 6500, depth: int = 5) -> tuple[MarketQuote, ...]:
    """The six markets of a daily-high event: a ``less`` tail, four 2°F bins, a ``greater`` tail."""
    def book(best: int) -> tuple[tuple[int, int], ...]:
        return tuple((best - 100 * i, 1000 + 500 * i) for i in range(depth) if best - 100 * i > 0)

    quotes = [MarketQuote(ticker=f"{event_ticker}-T{low}", status="active", strike_type="less",
                          cap_strike=Decimal(low), close_time=T0 + timedelta(hours=10),
                          yes_bids=book(best_yes_bid), no_bids=book(best_no_bid))]
    for i in range(4):
        floor = low + 2 * i
        quotes.append(MarketQuote(
            ticker=f"{event_ticker}-B{floor + 0.5}", status="active", strike_type="between",
            floor_strike=Decimal(floor), cap_strike=Decimal(floor + 1),
            close_time=T0 + timedelta(hours=10), yes_bids=book(best_yes_bid),
            no_bids=book(best_no_bid), last_price=best_yes_bid, volume=12_300,
        ))
    quotes.append(MarketQuote(ticker=f"{event_ticker}-T{low + 7}", status="active",
                              strike_type="greater", floor_strike=Decimal(low + 7),
                              close_time=T0 + timedelta(hours=10), yes_bids=book(best_yes_bid),
                              no_bids=book(best_no_bid)))
    return tuple(quotes)


def a_market_snapshot(event_ticker: str = "KXHIGHNY-26AUG28", *, version: int = 1,
                      recorded_at: datetime = T0, city: str = "NYC",
                      markets: tuple[MarketQuote, ...] | None = None,
                      best_yes_bid: int = 3000, best_no_bid: int = 6500) -> MarketSnapshotted:
    return MarketSnapshotted(
        **envelope(f"market:{event_ticker}", version, recorded_at=recorded_at),
        venue_time=recorded_at,
        series_ticker=event_ticker.split("-")[0], event_ticker=event_ticker, city=city,
        kind=MarketKind.DAILY_HIGH, source="test",
        markets=markets if markets is not None else a_ladder(
            event_ticker, best_yes_bid=best_yes_bid, best_no_bid=best_no_bid),
    )


def a_weather_snapshot(city: str = "NYC", *, version: int = 1, recorded_at: datetime = T0,
                       periods: int = 14, observations: int = 12) -> WeatherSnapshotted:
    return WeatherSnapshotted(
        **envelope(f"weather:{city}", version, recorded_at=recorded_at),
        city=city, station="KNYC", provider="nws", issued_at=recorded_at - timedelta(hours=1),
        forecast=tuple(
            ForecastPeriod(start=T0 + timedelta(hours=12 * i), end=T0 + timedelta(hours=12 * i + 12),
                           is_daytime=i % 2 == 0, temperature_f=80.0 - i, precip_probability=0.2)
            for i in range(periods)),
        observations=tuple(
            Observation(time=recorded_at - timedelta(hours=i), temperature_f=75.2 + i / 10,
                        raw_message=f"KNYC 281451Z 20008KT 10SM FEW250 24/17 A3002 RMK T0{i:03d}")
            for i in range(observations)),
    )


def a_decision(market: MarketSnapshotted | None = None, weather: WeatherSnapshotted | None = None,
               *, recorded_at: datetime = T0, orders: int = 1) -> DecisionMade:
    market = market or a_market_snapshot(recorded_at=recorded_at)
    weather = weather or a_weather_snapshot(recorded_at=recorded_at)
    decision_id = deterministic_id("decision", market.event_id, weather.event_id)
    intended = tuple(
        IntendedOrder(client_order_id=f"mb-{decision_id.hex[:20]}-{leg}",
                      ticker=market.markets[leg].ticker, side=Side.YES, action=Action.BUY,
                      price=3100, count=1000)
        for leg in range(orders))
    return DecisionMade(
        **envelope(f"decision:{decision_id}", recorded_at=recorded_at),
        decision_id=decision_id, strategy="daily_high", city=market.city, kind=market.kind,
        event_ticker=market.event_ticker, market_snapshot_id=market.event_id,
        weather_snapshot_ids=(weather.event_id,), config_version="0" * 64,
        probabilities=tuple(BinProbability(ticker=m.ticker, probability=1 / 6)
                            for m in market.markets),
        edges=tuple(Edge(ticker=o.ticker, side=o.side, action=o.action, probability=0.4,
                         price=o.price, fee_per_contract=taker_fee(o.price, 100),
                         edge_after_fees=0.07) for o in intended),
        intended_orders=intended,
        decision_code=DECISION_CODE,  # (claimed: this code re-derives it, and finds it made by hand)
    )


def an_order_submitted(client_order_id: str = "mb-order-1", *, ticker: str = "KXHIGHNY-26AUG28-B81.5",
                       side: Side = Side.YES, action: Action = Action.BUY, price: int = 4300,
                       count: int = 1000, recorded_at: datetime = T0) -> OrderSubmitted:
    return OrderSubmitted(
        **envelope(f"order:{client_order_id}", 1, recorded_at=recorded_at),
        client_order_id=client_order_id, decision_id=None, ticker=ticker, side=side,
        action=action, price=price, count=count,
    )


def an_order_accepted(client_order_id: str = "mb-order-1", *, version: int = 2,
                      recorded_at: datetime = T0) -> OrderAccepted:
    return OrderAccepted(**envelope(f"order:{client_order_id}", version, recorded_at=recorded_at),
                         client_order_id=client_order_id, venue_order_id=f"v-{client_order_id}")


def an_order_filled(fill_id: str | None = None, *, client_order_id: str | None = "mb-order-1",
                    ticker: str = "KXHIGHNY-26AUG28-B81.5", side: Side = Side.YES,
                    action: Action = Action.BUY, price: int = 4300, count: int = 1000,
                    fee: int | None = None, is_taker: bool = True, city: str | None = "NYC",
                    recorded_at: datetime = T0, venue_time: datetime | None = None) -> OrderFilled:
    fill_id = fill_id or f"fill-{next(_counter)}"
    return OrderFilled(
        **envelope(f"fill:{fill_id}", 1, recorded_at=recorded_at),
        venue_time=venue_time or recorded_at, fill_id=fill_id, client_order_id=client_order_id,
        venue_order_id=f"v-{client_order_id}", city=city, ticker=ticker, side=side, action=action,
        price=price, count=count,
        fee=taker_fee(price, count) if fee is None else fee, is_taker=is_taker,
    )


def a_settlement(ticker: str = "KXHIGHNY-26AUG28-B81.5", *, result: str = "yes",
                 recorded_at: datetime = T0) -> MarketSettled:
    return MarketSettled(
        **envelope(f"settlement:{ticker}", 1, recorded_at=recorded_at),
        ticker=ticker, event_ticker=ticker.rsplit("-", 1)[0], result=result,
        settlement_value=10_000 if result == "yes" else 0,
    )


def a_climate_report(station: str = "NYC", *, recorded_at: datetime = T0) -> ClimateReportRecorded:
    return ClimateReportRecorded(
        **envelope(f"cli:{station}:2026-08-27", 1, recorded_at=recorded_at),
        station=station, climate_date=T0.date() - timedelta(days=1), preliminary=False,
        correction=False, issued_at=T0 - timedelta(hours=8), max_temp_f=84, min_temp_f=71,
        precip_in=Decimal("0.00"), snow_in=Decimal("0.0"), raw_text="CLIMATE REPORT...",
    )


def a_config_version(content: str = "[ledger]\nprojection_batch = 5000\n", *,
                     recorded_at: datetime = T0) -> ConfigVersionRecorded:
    version = config_version_of(content)
    return ConfigVersionRecorded(**envelope(f"config:{version}", 1, recorded_at=recorded_at),
                                 config_version=version, content=content,
                                 source="config/milkbot.toml")


def every_event_type() -> list[Event]:
    """One instance of every event in the catalogue that has a builder."""
    market = a_market_snapshot()
    weather = a_weather_snapshot()
    return [market, weather, a_decision(market, weather), an_order_submitted(),
            an_order_accepted(), an_order_filled("fill-every"), a_settlement(),
            a_climate_report()]


# -- forecast accountability: decisions with probabilities, final reports, scores --------------------

# Imported here so the builders above stay as they were (this section was appended).
from datetime import date  # noqa: E402

from domain.events import ForecastScored, ModelProbabilities, ModelScores, Scores  # noqa: E402

#: A daily-high ladder's probabilities, lowest rung first (the worked example of domain.scoring).
SIX_PROBABILITIES = (0.117, 0.220, 0.299, 0.232, 0.103, 0.030)


def a_priced_decision(event_ticker: str = "KXHIGHNY-26AUG28", *, lead_days: int | None = 1,
                      probabilities: tuple[float, ...] = SIX_PROBABILITIES,
                      tickers: tuple[str, ...] | None = None,
                      climatology: tuple[float, ...] | None = None,
                      market: tuple[float, ...] | None = None,
                      components: tuple[tuple[str, tuple[float, ...]], ...] = (),
                      forecast_value: float | None = None, city: str = "NYC",
                      kind: MarketKind = MarketKind.DAILY_HIGH, config_version: str = "0" * 64,
                      recorded_at: datetime = T0) -> DecisionMade:
    """A decision that priced a whole ladder (by default the six markets of ``a_ladder``)."""
    tickers = tickers or tuple(m.ticker for m in a_ladder(event_ticker))
    decision_id = deterministic_id("priced decision", event_ticker, lead_days, recorded_at,
                                   probabilities)
    return DecisionMade(
        **envelope(f"decision:{decision_id}", recorded_at=recorded_at),
        decision_id=decision_id, strategy="test", city=city, kind=kind, event_ticker=event_ticker,
        market_snapshot_id=deterministic_id("snapshot", event_ticker, recorded_at),
        weather_snapshot_ids=(), config_version=config_version,
        probabilities=tuple(
            BinProbability(ticker=t, probability=p,
                           climatology=None if climatology is None else climatology[i],
                           market=None if market is None else market[i])
            for i, (t, p) in enumerate(zip(tickers, probabilities, strict=True))),
        lead_days=lead_days, forecast_value=forecast_value,
        components=tuple(ModelProbabilities(model=m, probabilities=p) for m, p in components),
        no_trade_reason="no edge",
    )


def a_ladder_settled(tickers: tuple[str, ...], paying: set[str] | str, *,
                     recorded_at: datetime = T0) -> list[MarketSettled]:
    """One ``MarketSettled`` per ticker: YES for those in ``paying``."""
    paying = {paying} if isinstance(paying, str) else paying
    return [a_settlement(t, result="yes" if t in paying else "no", recorded_at=recorded_at)
            for t in tickers]


def a_final_report(station: str = "NYC", climate_date: date | None = None, *,
                   max_temp_f: int | None = 84, precip_month_in: str | None = None,
                   snow_month_in: str | None = None, preliminary: bool = False,
                   correction: bool = False, version: int = 1,
                   recorded_at: datetime = T0) -> ClimateReportRecorded:
    climate_date = climate_date or T0.date()
    return ClimateReportRecorded(
        **envelope(f"cli:{station}:{climate_date.isoformat()}", version, recorded_at=recorded_at),
        station=station, climate_date=climate_date, preliminary=preliminary, correction=correction,
        issued_at=recorded_at, max_temp_f=max_temp_f,
        precip_month_in=None if precip_month_in is None else Decimal(precip_month_in),
        snow_month_in=None if snow_month_in is None else Decimal(snow_month_in),
        raw_text="CLIMATE REPORT...",
    )


def a_forecast_scored(day: date | None = None, *, lead_days: int = 1, city: str = "NYC",
                      kind: MarketKind = MarketKind.DAILY_HIGH, forecast_value: float | None = 85.0,
                      settled_value: int | str | None = 84, log_loss: float = 1.2,
                      component_log_losses: dict[str, float] | None = None,
                      recorded_at: datetime = T0) -> ForecastScored:
    """A scored daily-high ladder (the scores are made up; learning reads only some of them)."""
    day = day or T0.date()
    event_ticker = f"KXHIGHNY-{day.strftime('%y%b%d').upper()}"
    decision_id = deterministic_id("scored decision", event_ticker, lead_days)
    return ForecastScored(
        **envelope(f"scores:{event_ticker}", lead_days + 1, recorded_at=recorded_at),
        city=city, kind=kind, event_ticker=event_ticker, decision_id=decision_id,
        lead_days=lead_days, climate_date=day, probabilities=(), paying=(f"{event_ticker}-B84.5",),
        ours=Scores(brier=0.6, log_loss=log_loss, rps=0.05),
        components=tuple(ModelScores(model=m, scores=Scores(brier=0.6, log_loss=loss, rps=0.05))
                         for m, loss in (component_log_losses or {}).items()),
        forecast_value=forecast_value,
        settled_value=None if settled_value is None else Decimal(settled_value),
    )


# -- the risk engine: rungs, intended orders, a risk context and trading-state events --------------

# Imported here so the builders above stay as they were (this section was appended).
from collections.abc import Mapping  # noqa: E402

from domain.events import (  # noqa: E402
    BreakerCleared,
    BreakerTripped,
    KillSwitchEngaged,
    TradingResumed,
    TradingState,
    TradingStateChanged,
)
from domain.ladder import Rung  # noqa: E402
from domain.risk import Held, RiskContext  # noqa: E402
from domain.strategies import RestingOrder  # noqa: E402

DOLLAR = 1_000_000
#: The markets the risk tests trade: NYC's six-rung ladder, two Philadelphia markets (the same
#: cluster as NYC) and two Chicago ones (another cluster).
NYC_TICKERS = tuple(q.ticker for q in a_ladder())
PHL_TICKERS = ("KXHIGHPHIL-26AUG28-B84.5", "KXHIGHPHIL-26AUG28-B86.5")
CHI_TICKERS = ("KXHIGHCHI-26AUG28-B80.5", "KXHIGHCHI-26AUG28-B82.5")
RISK_TICKER = "KXHIGHNY-26AUG28-B81.5"
CITY_OF: dict[str, str] = {**{t: "NYC" for t in NYC_TICKERS}, **{t: "PHL" for t in PHL_TICKERS},
                           **{t: "CHI" for t in CHI_TICKERS}}
CLUSTER_OF: dict[str, str] = {"NYC": "northeast", "PHL": "northeast", "CHI": "midwest"}


def a_rung(ticker: str = RISK_TICKER, *, yes_bid: int | None = 4000, no_bid: int | None = 5500,
           yes_bid_size: int = 5_000, no_bid_size: int = 5_000, status: str = "active",
           close_time: datetime | None = T0 + timedelta(hours=10)) -> Rung:
    """One market's book: by default YES bid 40¢ / ask 45¢, NO bid 55¢ / ask 60¢."""
    return Rung(ticker, status, None, None, yes_bid, yes_bid_size if yes_bid is not None else 0,
                no_bid, no_bid_size if no_bid is not None else 0, close_time)


def an_intended_order(client_order_id: str = "mb-risk-0", *, ticker: str = RISK_TICKER,
                      side: Side = Side.YES, action: Action = Action.BUY, price: int = 4500,
                      count: int = 1000, post_only: bool = False) -> IntendedOrder:
    """By default: buy 10 YES at the 45¢ ask of ``a_rung``."""
    return IntendedOrder(client_order_id=client_order_id, ticker=ticker, side=side, action=action,
                         price=price, count=count, post_only=post_only)


def a_resting_order(ticker: str = RISK_TICKER, *, side: Side = Side.YES, action: Action = Action.BUY,
                    price: int = 4000, remaining: int = 1000) -> RestingOrder:
    return RestingOrder(ticker=ticker, side=side, action=action, price=price, remaining=remaining)


def held_yes(count: int, price: int) -> Held:
    """``count`` YES (1/100 units) bought at ``price``."""
    return Held(position=count, cost=count * price)


def held_no(count: int, price: int) -> Held:
    """``count`` NO bought at ``price`` (in YES terms: short YES at 1 minus it)."""
    return Held(position=-count, cost=-count * (10_000 - price))


def a_risk_context(*, markets: Mapping[str, Rung] | None = None,
                   positions: Mapping[str, Held] | None = None,
                   resting: tuple[RestingOrder, ...] = (), balance: int = 1_000 * DOLLAR,
                   equity: int = 1_000 * DOLLAR, open_orders: int | None = None,
                   recent_orders: tuple[datetime, ...] = (),
                   state: TradingState = TradingState.ACTIVE, now: datetime = T0) -> RiskContext:
    """A context in which ``an_intended_order()`` passes every check with the default limits."""
    return RiskContext(
        markets=markets if markets is not None else {t: a_rung(t) for t in CITY_OF},
        positions=positions or {}, resting=resting, city_of=CITY_OF, cluster_of=CLUSTER_OF,
        balance=balance, equity=equity,
        open_orders=len(resting) if open_orders is None else open_orders,
        recent_orders=recent_orders, state=state, now=now)


def a_trading_state_changed(state: TradingState = TradingState.HALTED, *, scope: str = "all",
                            previous: TradingState = TradingState.ACTIVE,
                            until: datetime | None = None, stream: str = "test:trading",
                            version: int = 1, recorded_at: datetime = T0,
                            reason: str = "test") -> TradingStateChanged:
    return TradingStateChanged(**envelope(stream, version, recorded_at=recorded_at), previous=previous,
                               state=state, reason=reason, scope=scope, until=until)


def a_breaker_tripped(city: str = "NYC", feed: str = "market:daily_high", *, version: int = 1,
                      recorded_at: datetime = T0) -> BreakerTripped:
    return BreakerTripped(**envelope(f"breaker:{city}:{feed}", version, recorded_at=recorded_at),
                          city=city, feed=feed, reason="stale", age_s=900.0, limit_s=600.0)


def a_breaker_cleared(city: str = "NYC", feed: str = "market:daily_high", *, version: int = 2,
                      recorded_at: datetime = T0) -> BreakerCleared:
    return BreakerCleared(**envelope(f"breaker:{city}:{feed}", version, recorded_at=recorded_at),
                          city=city, feed=feed, reason="fresh")


def a_kill_switch(*, operator: str = "ops", version: int = 1,
                  recorded_at: datetime = T0) -> KillSwitchEngaged:
    return KillSwitchEngaged(**envelope("operator:trading", version, recorded_at=recorded_at),
                             operator=operator, reason="test")


def a_trading_resumed(*, operator: str = "ops", version: int = 1,
                      recorded_at: datetime = T0) -> TradingResumed:
    return TradingResumed(**envelope("operator:trading", version, recorded_at=recorded_at),
                          operator=operator, reason="test")


# -- execution quality: decisions that trade, their orders' submissions and ends ---------------------

# Imported here so the builders above stay as they were (this section was appended).
from domain.events import OrderCanceled, OrderExpired, OrderRejected  # noqa: E402

EXEC_TICKER = "KXHIGHNY-26AUG28-B81.5"


def a_leg(client_order_id: str = "mb-exec-1", *, ticker: str = EXEC_TICKER, side: Side = Side.YES,
          action: Action = Action.BUY, price: int = 3500, count: int = 500) -> IntendedOrder:
    """One intended order: by default buy 5 YES at 35¢."""
    return IntendedOrder(client_order_id=client_order_id, ticker=ticker, side=side, action=action,
                         price=price, count=count)


def a_decision_to_trade(market: MarketSnapshotted | None = None, *legs: IntendedOrder,
                        recorded_at: datetime = T0) -> DecisionMade:
    """A decision on ``market`` (naming it as its snapshot) that wants ``legs`` (``a_leg()``)."""
    market = market or a_market_snapshot(recorded_at=recorded_at)
    legs = legs or (a_leg(),)
    decision_id = deterministic_id("trading decision", market.event_id,
                                   tuple(leg.client_order_id for leg in legs))
    return DecisionMade(
        **envelope(f"decision:{decision_id}", recorded_at=recorded_at),
        decision_id=decision_id, strategy="test", city=market.city, kind=market.kind,
        event_ticker=market.event_ticker, market_snapshot_id=market.event_id,
        weather_snapshot_ids=(), config_version="0" * 64,
        probabilities=tuple(BinProbability(ticker=m.ticker, probability=1 / len(market.markets))
                            for m in market.markets),
        intended_orders=legs,
    )


def a_leg_submitted(leg: IntendedOrder | None = None, decision: DecisionMade | None = None, *,
                    city: str | None = "NYC", recorded_at: datetime = T0) -> OrderSubmitted:
    """The submission of ``leg`` on its order stream (version 1); ``decision`` None: the operator's."""
    leg = leg or a_leg()
    return OrderSubmitted(
        **envelope(f"order:{leg.client_order_id}", 1, recorded_at=recorded_at),
        client_order_id=leg.client_order_id,
        decision_id=None if decision is None else decision.decision_id, city=city,
        ticker=leg.ticker, side=leg.side, action=leg.action, price=leg.price, count=leg.count,
    )


def an_order_ended(client_order_id: str = "mb-exec-1", how: str = "canceled", *, version: int = 3,
                   canceled_count: int | None = None,
                   recorded_at: datetime = T0) -> OrderCanceled | OrderExpired | OrderRejected:
    """``how``: ``canceled``, ``expired`` or ``rejected``."""
    fields = envelope(f"order:{client_order_id}", version, recorded_at=recorded_at)
    if how == "canceled":
        return OrderCanceled(**fields, client_order_id=client_order_id,
                             venue_order_id=f"v-{client_order_id}", reason="test",
                             canceled_count=canceled_count)
    if how == "expired":
        return OrderExpired(**fields, client_order_id=client_order_id,
                            venue_order_id=f"v-{client_order_id}")
    return OrderRejected(**fields, client_order_id=client_order_id, reason="test")
