"""Stale-data breakers: an event for each transition, none while nothing changes.

The limits here: a daily-high ladder's market snapshot 10 min, a monthly one's 30 min (tighter
than the defaults, 30 and 150, to keep the arithmetic plain); the weather snapshot 120 min for
daily highs, 360 min for monthly totals (the defaults).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from domain.events import BreakerCleared, BreakerTripped, MarketKind, TradingState
from domain.risk import FeedReading, RiskLimits, TradingStates, breaker_events, market_feed, weather_feed
from tests.builders import T0

CORRELATION = uuid.UUID("00000000-0000-4000-8000-00000000000d")
LIMITS = RiskLimits.model_validate(
    {"max_market_age": {"daily_high": 10, "monthly_rain": 30, "monthly_snow": 30}})
MARKET = market_feed(MarketKind.DAILY_HIGH)
WEATHER = weather_feed(MarketKind.DAILY_HIGH)


def minutes_ago(n: float) -> FeedReading:
    return FeedReading("NYC", MARKET, T0 - timedelta(minutes=n))


def run(*readings: FeedReading, states: TradingStates | None = None,
        limits: RiskLimits = LIMITS) -> list[BreakerTripped | BreakerCleared]:
    events = breaker_events(readings, states or TradingStates(), limits, T0, correlation_id=CORRELATION)
    assert all(isinstance(e, BreakerTripped | BreakerCleared) for e in events)
    return events  # type: ignore[return-value]


def test_a_fresh_feed_with_no_breaker_records_nothing() -> None:
    assert run(minutes_ago(10)) == []  # exactly at the limit is still fresh


def test_a_stale_feed_trips_its_breaker_with_its_age_and_limit() -> None:
    (tripped,) = run(minutes_ago(10.5))

    assert isinstance(tripped, BreakerTripped)
    assert (tripped.city, tripped.feed, tripped.age_s, tripped.limit_s) == ("NYC", MARKET, 630.0, 600.0)
    assert (tripped.stream, tripped.version, tripped.recorded_at) == (
        "breaker:NYC:market:daily_high", 1, T0)
    assert "10.5 min old, over the 10 min limit" in tripped.reason


def test_a_failing_feed_trips_even_when_its_last_snapshot_is_fresh() -> None:
    (tripped,) = run(FeedReading("NYC", WEATHER, T0 - timedelta(minutes=5), failing=True))
    assert isinstance(tripped, BreakerTripped) and "latest attempt failed" in tripped.reason


def test_a_feed_that_never_delivered_trips_with_no_age() -> None:
    (tripped,) = run(FeedReading("NYC", WEATHER, None))
    assert isinstance(tripped, BreakerTripped) and tripped.age_s is None
    assert "no weather:daily_high snapshot yet" in tripped.reason


def test_a_tripped_breaker_that_is_still_bad_records_nothing() -> None:
    states = TradingStates.fold(run(minutes_ago(11)))
    assert run(minutes_ago(15), states=states) == []


def test_fresh_data_clears_a_tripped_breaker_in_the_same_stream() -> None:
    states = TradingStates.fold(run(minutes_ago(11)))

    (cleared,) = run(minutes_ago(1), states=states)

    assert isinstance(cleared, BreakerCleared)
    assert (cleared.stream, cleared.version) == ("breaker:NYC:market:daily_high", 2)
    assert "1 min old, within the 10 min limit" in cleared.reason
    assert TradingStates.fold([cleared], states).state_for("NYC", T0) is TradingState.ACTIVE


def test_a_second_trip_after_a_clear_takes_the_next_version() -> None:
    states = TradingStates.fold(run(minutes_ago(11)))
    states = TradingStates.fold(run(minutes_ago(1), states=states), states)
    (again,) = run(minutes_ago(20), states=states)
    assert (again.version, isinstance(again, BreakerTripped)) == (3, True)


def test_the_same_transition_computed_twice_has_the_same_id() -> None:
    first, again = run(minutes_ago(11)), run(minutes_ago(12))
    assert [e.event_id for e in first] == [e.event_id for e in again]


def test_each_market_kind_has_its_own_limit() -> None:
    rain = FeedReading("NYC", market_feed(MarketKind.MONTHLY_RAIN), T0 - timedelta(minutes=20))
    rain_weather = FeedReading("NYC", weather_feed(MarketKind.MONTHLY_RAIN), T0 - timedelta(hours=5))
    daily_weather = FeedReading("NYC", WEATHER, T0 - timedelta(hours=5))

    assert run(rain, rain_weather) == []
    (tripped,) = run(rain, rain_weather, daily_weather)
    assert tripped.feed == "weather:daily_high"


def test_several_cities_and_feeds_are_independent() -> None:
    events = run(minutes_ago(11), FeedReading("CHI", MARKET, T0), FeedReading("PHL", MARKET, None))
    assert [(e.city, type(e).__name__) for e in events] == [("NYC", "BreakerTripped"),
                                                            ("PHL", "BreakerTripped")]


def test_a_tripped_breaker_makes_its_city_reducing_for_that_kind() -> None:
    states = TradingStates.fold(run(minutes_ago(11)))

    assert states.state_for("NYC", T0) is TradingState.REDUCING
    assert states.state_for("NYC", T0, MarketKind.DAILY_HIGH) is TradingState.REDUCING
    assert states.state_for("NYC", T0, MarketKind.MONTHLY_RAIN) is TradingState.ACTIVE
    assert states.state_for("CHI", T0) is TradingState.ACTIVE


def test_an_unknown_feed_is_refused() -> None:
    with pytest.raises(ValueError, match="not a market kind"):
        run(FeedReading("NYC", "market:hourly_wind", T0))
    with pytest.raises(ValueError, match="neither"):
        run(FeedReading("NYC", "radar:daily_high", T0))
