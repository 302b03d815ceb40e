"""Ladders read from snapshots: strike types to ranges of reported values, shapes, books."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.events import MarketKind, MarketQuote
from domain.ladder import Ladder, LadderError, Shape, event_period
from tests.builders import a_ladder, a_market_snapshot


def quote(ticker: str, strike_type: str, floor: str | None = None, cap: str | None = None,
          **extra: object) -> MarketQuote:
    return MarketQuote(ticker=ticker, status="active", strike_type=strike_type,  # type: ignore[arg-type]
                       floor_strike=Decimal(floor) if floor else None,
                       cap_strike=Decimal(cap) if cap else None, **extra)  # type: ignore[arg-type]


def daily(*markets: MarketQuote) -> Ladder:
    return Ladder.of(a_market_snapshot(markets=markets))


def monthly(kind: MarketKind, *markets: MarketQuote) -> Ladder:
    snapshot = a_market_snapshot("KXRAINNYCM-26AUG", markets=markets)
    return Ladder.of(snapshot.model_copy(update={"kind": kind}))


def test_the_six_markets_of_a_daily_high_tile_the_whole_degrees() -> None:
    ladder = Ladder.of(a_market_snapshot(markets=a_ladder(low=65)))

    assert ladder.shape is Shape.EXCLUSIVE
    assert [r.label() for r in ladder] == ["<=64", "65-66", "67-68", "69-70", "71-72", ">=73"]
    for value in range(55, 85):
        assert len(ladder.paying(Decimal(value))) == 1, value
    assert ladder.paying(Decimal(64)) == ("KXHIGHNY-26AUG28-T65",)
    assert ladder.paying(Decimal(73)) == ("KXHIGHNY-26AUG28-T72",)


def test_inclusive_strike_types_and_fractional_strikes_round_to_reported_values() -> None:
    ladder = daily(quote("A", "less_or_equal", cap="64"), quote("B", "between", "64.5", "66.5"),
                   quote("C", "greater_or_equal", floor="67"))
    assert [(r.low, r.high) for r in ladder] == [(None, 64), (65, 66), (67, None)]


@pytest.mark.parametrize(("markets", "problem"), [
    ((quote("A", "less", cap="65"), quote("B", "between", "66", "67"), quote("C", "greater", "67")),
     "ends at 64 but B starts at 66"),
    ((quote("A", "less", cap="65"), quote("B", "between", "64", "67"), quote("C", "greater", "67")),
     "ends at 64 but B starts at 64"),
    ((quote("A", "less", cap="65"), quote("B", "between", "65", "66")), "does not cover"),
    ((quote("A", "less", cap="65"), quote("B", "less", cap="60")), "both open-ended"),
    ((quote("A", "between", "66", "65"),), "holds no value"),
    ((quote("A", "functional"),), "not a range"),
    ((quote("A", "between", floor="60"),), "no cap_strike"),
])
def test_a_daily_ladder_that_does_not_tile_is_refused(markets: tuple[MarketQuote, ...],
                                                      problem: str) -> None:
    with pytest.raises(LadderError, match=problem):
        daily(*markets)


def test_rain_is_strictly_more_than_each_strike_in_hundredths() -> None:
    ladder = monthly(MarketKind.MONTHLY_RAIN, quote("R3", "greater", "3"), quote("R1", "greater", "1"),
                     quote("R2", "greater", "2"))

    assert ladder.shape is Shape.CUMULATIVE
    assert [r.ticker for r in ladder] == ["R1", "R2", "R3"]  # ordered by strike
    assert [r.low for r in ladder] == [Decimal("1.01"), Decimal("2.01"), Decimal("3.01")]
    assert ladder.paying(Decimal("2.00")) == ("R1",)  # exactly 2.00 is not "more than 2"
    assert ladder.paying(Decimal("2.01")) == ("R1", "R2")


def test_snow_is_reported_in_tenths() -> None:
    ladder = monthly(MarketKind.MONTHLY_SNOW, quote("S1", "greater", "1"))
    assert ladder.rung("S1").low == Decimal("1.1")


def test_a_cumulative_ladder_takes_only_more_than_markets() -> None:
    with pytest.raises(LadderError, match="'more than X' markets only"):
        monthly(MarketKind.MONTHLY_RAIN, quote("R1", "between", "1", "2"))
    with pytest.raises(LadderError, match="share a strike"):
        monthly(MarketKind.MONTHLY_RAIN, quote("R1", "greater", "1"), quote("R2", "greater", "1"))


def test_asks_come_from_the_other_side_and_sizes_from_the_best_level() -> None:
    ladder = Ladder.of(a_market_snapshot(best_yes_bid=3000, best_no_bid=6500))
    rung = ladder.rungs[1]
    assert (rung.yes_bid, rung.yes_ask, rung.no_bid, rung.no_ask) == (3000, 3500, 6500, 7000)
    assert rung.yes_bid_size == 1000 and rung.open
    empty = daily(quote("A", "less", cap="65"), quote("B", "greater", "64"))
    assert empty.rungs[0].yes_ask is None and empty.rungs[0].no_ask is None


def test_an_empty_snapshot_is_no_ladder() -> None:
    snapshot = a_market_snapshot()
    with pytest.raises(LadderError, match="no markets"):
        Ladder.of(snapshot.model_copy(update={"markets": ()}))


@pytest.mark.parametrize(("ticker", "kind", "period"), [
    ("KXHIGHNY-26AUG28", MarketKind.DAILY_HIGH, date(2026, 8, 28)),
    ("KXHIGHTDC-27JAN01", MarketKind.DAILY_HIGH, date(2027, 1, 1)),
    ("KXRAINNYCM-26AUG", MarketKind.MONTHLY_RAIN, date(2026, 8, 1)),
    ("KXNYCSNOWM-26DEC", MarketKind.MONTHLY_SNOW, date(2026, 12, 1)),
])
def test_the_event_ticker_names_the_day_or_month_it_settles_on(ticker: str, kind: MarketKind,
                                                               period: date) -> None:
    assert event_period(ticker, kind) == period


@pytest.mark.parametrize(("ticker", "kind"), [
    ("KXHIGHNY-26AUG", MarketKind.DAILY_HIGH), ("KXRAINNYCM-26AUG28", MarketKind.MONTHLY_RAIN),
    ("KXHIGHNY-26FOO28", MarketKind.DAILY_HIGH), ("KXHIGHNY-26FEB30", MarketKind.DAILY_HIGH),
    ("KXHIGHNY", MarketKind.DAILY_HIGH),
])
def test_an_event_ticker_without_its_period_is_refused(ticker: str, kind: MarketKind) -> None:
    with pytest.raises(LadderError, match=ticker):
        event_period(ticker, kind)
