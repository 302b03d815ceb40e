"""One decision: a recorded ladder and the recorded weather, priced and handed to the strategies.

``decide`` is the whole decision path in pure code. Its inputs are events already in the ledger
(the market snapshot, the weather snapshot, for a monthly ladder the latest CLI report, the learned
model state) plus the configuration and the portfolio the strategy saw, and its output is one
``DecisionMade`` per configured strategy carrying every one of those inputs by id or by value.
Nothing here reads a clock (``as_of`` is the newest input's recorded time), the network or a
random source, so replaying a decision from its recorded inputs gives the same bytes.

The path:

1. the ladder from the market snapshot (``domain.ladder``): ranges from strike types, books;
2. the component models' probabilities for each rung: ``nws`` (the forecast model) and
   ``climatology`` (the normal alone; both with what has already been observed or reported);
3. the ensemble: a linear pool with the learned weights once every component has earned them,
   the configured prior until then;
4. each strategy's intents, with a deterministic ``client_order_id`` per decision and leg.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from domain.climate_day import climate_day_of
from domain.config import CityConfig, MilkbotConfig
from domain.events import (
    ClimateReportRecorded,
    DecisionMade,
    Holding,
    MarketKind,
    MarketSnapshotted,
    ModelStateRecorded,
    RestingSeen,
    WeatherSnapshotted,
    deterministic_id,
)
from domain.forecast import daily_high, precip
from domain.forecast.distributions import rung_probabilities
from domain.forecast.ensemble import market_implied, pool
from domain.ladder import Ladder, LadderError, Shape, event_period
from domain.money import PRICE_SCALE
from domain.strategies import ConfiguredStrategy, Intent, RestingOrder, StrategyInput

NWS, CLIMATOLOGY = "nws", "climatology"


@dataclass(frozen=True, slots=True, kw_only=True)
class Portfolio:
    """What we hold and have resting, and the cash a decision may spend."""

    positions: Mapping[str, int] = field(default_factory=dict)
    resting: tuple[RestingOrder, ...] = ()
    balance: int = 0

    def seen_by(self, ladder: Ladder) -> tuple[tuple[Holding, ...], tuple[RestingSeen, ...]]:
        """This ladder's part of the portfolio, in a canonical order, as the decision records it."""
        tickers = {r.ticker for r in ladder}
        holdings = tuple(Holding(ticker=t, position=p) for t, p in sorted(self.positions.items())
                         if t in tickers and p != 0)
        resting = tuple(sorted(
            (RestingSeen(ticker=o.ticker, side=o.side, action=o.action, price=o.price,
                         remaining=o.remaining) for o in self.resting if o.ticker in tickers),
            key=lambda o: (o.ticker, o.side.value, o.action.value, o.price, o.remaining)))
        return holdings, resting


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionInputs:
    market: MarketSnapshotted
    config: MilkbotConfig
    config_version: str
    weather: WeatherSnapshotted | None = None
    #: Monthly ladders: the latest CLI report of the settling site (the month so far).
    report: ClimateReportRecorded | None = None
    model_state: ModelStateRecorded | None = None
    portfolio: Portfolio = Portfolio()

    @property
    def as_of(self) -> datetime:
        """The newest input's recorded time: the decision's own time, taken from its inputs."""
        times = [self.market.recorded_at]
        times += [e.recorded_at for e in (self.weather, self.report, self.model_state) if e is not None]
        return max(times)

    def input_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(e.event_id for e in (self.weather, self.report) if e is not None)


@dataclass(frozen=True, slots=True)
class Priced:
    """A ladder with our probability for each rung and the numbers behind it."""

    ladder: Ladder
    probabilities: tuple[float, ...]
    components: tuple[tuple[str, tuple[float, ...]], ...]
    climatology: tuple[float, ...]
    market: tuple[float | None, ...]
    lead_days: int
    forecast_value: float | None


class CannotPrice(ValueError):
    """The inputs do not let the models price this ladder (the message is the no-trade reason)."""


def price(inputs: DecisionInputs) -> Priced:
    """Our probabilities for every rung of the snapshot's ladder."""
    market = inputs.market
    try:
        ladder = Ladder.of(market)
        period = event_period(market.event_ticker, market.kind)
        city = inputs.config.city(market.city)
    except (LadderError, KeyError) as e:
        raise CannotPrice(str(e).strip("'\"")) from None
    for event in (inputs.weather, inputs.report):
        if event is not None and getattr(event, "city", market.city) != market.city:
            raise CannotPrice(f"the weather input is {getattr(event, 'city', '?')}'s, not {market.city}'s")
    today = climate_day_of(city.timezone, inputs.as_of)
    if market.kind is MarketKind.DAILY_HIGH:
        return _price_daily(inputs, ladder, city, period, today)
    return _price_monthly(inputs, ladder, city, period, today)


def _price_daily(inputs: DecisionInputs, ladder: Ladder, city: CityConfig, day: date,
                 today: date) -> Priced:
    if day < today:
        raise CannotPrice(f"the climate day {day} is over")
    params = inputs.config.models.daily_high
    known = daily_high.daily_high_inputs(inputs.weather, timezone=city.timezone, climate_day=day,
                                         as_of=inputs.as_of, normals=city.normals)
    state = inputs.model_state
    skill = daily_high.StationSkill(
        bias=state.bias, bias_samples=state.bias_samples, spread_by_lead=state.spread_by_lead,
    ) if state is not None else None
    components: list[tuple[str, tuple[float, ...]]] = []
    high = daily_high.forecast(known, params, skill)
    if high.raw is not None:
        components.append((NWS, rung_probabilities(ladder, high.distribution)))
    climatology = rung_probabilities(ladder, daily_high.climatology(known, params))
    components.append((CLIMATOLOGY, climatology))
    return _priced(inputs, ladder, components, climatology, (day - today).days, high.raw)


def _price_monthly(inputs: DecisionInputs, ladder: Ladder, city: CityConfig, month: date,
                   today: date) -> Priced:
    month_end = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
    if month_end < today:
        raise CannotPrice(f"{month:%B %Y} is over")
    params = inputs.config.models.precip
    known = precip.precip_inputs(ladder.kind, month, inputs.report, inputs.weather, city.normals,
                                 city.timezone, horizon_days=params.forecast_days + 1)
    climatology = precip.precip_probabilities(ladder, known.without_forecast(), params)
    components: list[tuple[str, tuple[float, ...]]] = []
    forecast_value: float | None = None
    if known.qpf:
        components.append((NWS, precip.precip_probabilities(ladder, known, params)))
        forecast_value = known.month_to_date + sum(amount for _, amount in known.qpf)
    components.append((CLIMATOLOGY, climatology))
    return _priced(inputs, ladder, components, climatology, (month_end - today).days, forecast_value)


def _priced(inputs: DecisionInputs, ladder: Ladder, components: Sequence[tuple[str, tuple[float, ...]]],
            climatology: tuple[float, ...], lead_days: int, forecast_value: float | None) -> Priced:
    pooled = pool(components, _weights(inputs))
    implied = market_implied([r.yes_bid for r in ladder], [r.yes_ask for r in ladder],
                             exclusive=ladder.shape is Shape.EXCLUSIVE, scale=PRICE_SCALE)
    return Priced(ladder, pooled, tuple(components), climatology, implied, lead_days, forecast_value)


def _weights(inputs: DecisionInputs) -> Mapping[str, float]:
    """Learned weights once every component has its samples; the configured prior until then."""
    ensemble = inputs.config.models.ensemble
    state = inputs.model_state
    if state is not None and state.weights and all(
            samples >= ensemble.min_samples for _, _, samples, _ in state.weights):
        return {model: weight for model, weight, _, _ in state.weights}
    return ensemble.prior


#: The version of this decision code, recorded in every ``DecisionMade``. Bump it whenever the same
#: inputs would give other bytes (a model's fix, a new field), so that ``replay`` tells a decision
#: made by another version from one that does not reproduce; ``tests/unit/test_decision_code.py``
#: pins the bytes of a set of decisions to it.
#:
#: 2: an atom on a bin's edge (an observed maximum of exactly 36.5°F) is priced in the bin above.
DECISION_CODE = 2


def decide(inputs: DecisionInputs) -> tuple[DecisionMade, ...]:
    """One ``DecisionMade`` per configured strategy (a no-trade one says why)."""
    try:
        priced: Priced | None = price(inputs)
        reason = None
    except CannotPrice as e:
        priced, reason = None, str(e)
    if priced is not None and not inputs.config.city(inputs.market.city).enabled:
        reason = f"{inputs.market.city} is disabled in the configuration"
    return tuple(_decision(inputs, configured, priced, reason)
                 for configured in inputs.config.configured_strategies())


def _decision(inputs: DecisionInputs, strategy: ConfiguredStrategy, priced: Priced | None,
              reason: str | None) -> DecisionMade:
    market, portfolio = inputs.market, inputs.portfolio
    holdings, resting = portfolio.seen_by(priced.ladder) if priced is not None else ((), ())
    decision_id = deterministic_id(
        "decision", strategy.name, market.event_id, *inputs.input_ids(),
        inputs.model_state.event_id if inputs.model_state is not None else "-", inputs.config_version,
        portfolio.balance, *((h.ticker, h.position) for h in holdings),
        *((o.ticker, o.side.value, o.action.value, o.price, o.remaining) for o in resting))
    intents: tuple[Intent, ...] = ()
    if priced is not None and reason is None:
        intents = strategy.decide(StrategyInput(
            ladder=priced.ladder, probabilities=priced.probabilities, positions=portfolio.positions,
            resting=portfolio.resting, balance=portfolio.balance, now=inputs.as_of))
        if not intents:
            reason = f"{strategy.name}: no market clears its edge and price limits"
    stream = f"decision:{decision_id}"
    # One validation of plain values (in pydantic-core) instead of a model per bin, edge and order.
    return DecisionMade.model_validate({
        "event_id": deterministic_id("event", stream, 1), "stream": stream, "version": 1,
        "recorded_at": inputs.as_of, "correlation_id": market.correlation_id,
        "causation_id": market.event_id, "decision_id": decision_id, "strategy": strategy.name,
        "city": market.city, "kind": market.kind, "event_ticker": market.event_ticker,
        "market_snapshot_id": market.event_id, "weather_snapshot_ids": inputs.input_ids(),
        "config_version": inputs.config_version,
        "probabilities": _bins(priced) if priced is not None else (),
        "lead_days": priced.lead_days if priced is not None else None,
        "forecast_value": priced.forecast_value if priced is not None else None,
        "model_state_id": inputs.model_state.event_id if inputs.model_state is not None else None,
        "components": [{"model": name, "probabilities": p} for name, p in priced.components]
        if priced is not None else (),
        "positions": holdings, "resting": resting, "balance": portfolio.balance,
        "edges": [{"ticker": i.ticker, "side": i.side, "action": i.action, "probability": i.probability,
                   "price": i.price, "fee_per_contract": i.fee_per_contract,
                   "edge_after_fees": i.edge_after_fees} for i in intents],
        "intended_orders": [{"client_order_id": client_order_id(decision_id, leg), "ticker": i.ticker,
                             "side": i.side, "action": i.action, "price": i.price, "count": i.count,
                             "post_only": i.post_only, "reason": i.reason}
                            for leg, i in enumerate(intents)],
        "no_trade_reason": reason,
        "decision_code": DECISION_CODE,
    })


def _bins(priced: Priced) -> list[dict[str, object]]:
    return [{"ticker": r.ticker, "probability": p, "climatology": c, "market": m}
            for r, p, c, m in zip(priced.ladder, priced.probabilities, priced.climatology,
                                  priced.market, strict=True)]


def client_order_id(decision_id: uuid.UUID, leg: int) -> str:
    """The venue id of a decision's ``leg``-th order: the same on every retry and restart."""
    return f"mb-{decision_id.hex[:24]}-{leg}"
