"""A small ledger for the API tests: a settled ladder we traded and scored yesterday, today's ladders,
orders and fills on both sides of the public delay, a breaker, an alert and the venue's balance.

The clock ends at ``CLOCK`` (T0 + 3h); with the default 60-minute delay the public may see what
happened up to ``CUTOFF`` (T0 + 2h). Identifiers and texts only the operator may see are marked
``SECRET`` so the security tests can look for them in every public answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.events import (
    AlertRaised,
    Event,
    ReconciliationCompleted,
    Side,
)
from eventstore import Ledger
from tests.builders import (
    a_breaker_tripped,
    a_config_version,
    a_decision_to_trade,
    a_final_report,
    a_ladder,
    a_ladder_settled,
    a_leg,
    a_leg_submitted,
    a_market_snapshot,
    a_priced_decision,
    an_order_accepted,
    an_order_filled,
    at,
    envelope,
)
from tests.paths import ROOT

CLOCK = at(180)
CUTOFF = at(120)
YESTERDAY = "KXHIGHNY-26AUG27"
TODAY = "KXHIGHNY-26AUG28"
CHICAGO = "KXHIGHCHI-26AUG28"
#: Yesterday's ladder as the venue showed it in the morning: closed long before the clock, so it
#: is off the board, but its markets' terms are kept (the settlement says what range it priced).
YESTERDAY_LADDER = tuple(m.model_copy(update={"close_time": at(-360)}) for m in a_ladder(YESTERDAY))
YESTERDAY_TICKERS = tuple(m.ticker for m in YESTERDAY_LADDER)
PAYING = f"{YESTERDAY}-B83.5"
CONFIG = a_config_version((ROOT / "config/milkbot.toml").read_text(), recorded_at=at(-2000))

#: Operator-only identifiers and texts: none may appear in a public answer.
SECRET_ORDER_IDS = ("mb-SECRET-coid-1", "mb-SECRET-coid-2", "mb-SECRET-coid-3")
SECRET_FILL_IDS = ("fill-SECRET-old", "fill-SECRET-1", "fill-SECRET-2")
ALERT_MESSAGE = "ALERT-SECRET: the venue answered 500 three times"
BALANCE_MICROS = 987_654_321_000  # $987,654.321


@dataclass(frozen=True)
class Seeded:
    """What the seeded ledger holds, as the tests check it."""

    public_fill_ids: tuple[str, ...] = (SECRET_FILL_IDS[0], SECRET_FILL_IDS[1])
    young_fill_id: str = SECRET_FILL_IDS[2]
    open_order_id: str = SECRET_ORDER_IDS[2]


def commands() -> list[list[Event]]:
    today_market = a_market_snapshot(TODAY, version=1, recorded_at=at(0))
    legs = [a_leg(SECRET_ORDER_IDS[0], ticker=f"{TODAY}-B81.5", price=3500, count=500),
            a_leg(SECRET_ORDER_IDS[1], ticker=f"{CHICAGO}-B81.5", price=4000, count=300),
            a_leg(SECRET_ORDER_IDS[2], ticker=f"{TODAY}-B83.5", price=2000, count=1000)]
    decision = a_decision_to_trade(today_market, *legs, recorded_at=at(1))
    return [
        [CONFIG],
        # Yesterday: its ladder, decisions at leads 1 and 0, a fill, the settlement and the final
        # report.
        [a_market_snapshot(YESTERDAY, version=1, markets=YESTERDAY_LADDER, recorded_at=at(-1510))],
        [a_priced_decision(YESTERDAY, lead_days=1, config_version=CONFIG.config_version,
                           recorded_at=at(-1500))],
        [a_priced_decision(YESTERDAY, lead_days=0, probabilities=(0.0, 0.05, 0.15, 0.7, 0.1, 0.0),
                           config_version=CONFIG.config_version, climatology=(1 / 6,) * 6,
                           market=(0.05, 0.1, 0.2, 0.5, 0.1, 0.05), recorded_at=at(-600))],
        [an_order_filled(SECRET_FILL_IDS[0], client_order_id=None, ticker=PAYING, price=4300,
                         count=1000, recorded_at=at(-700))],
        [*a_ladder_settled(YESTERDAY_TICKERS, PAYING, recorded_at=at(-300))],
        [a_final_report("NYC", date(2026, 8, 27), max_temp_f=84, recorded_at=at(-290))],
        # The venue's balance, read by a reconciliation.
        [ReconciliationCompleted(**envelope("reconciliation:1", recorded_at=at(-5)),
                                 trigger="startup", venue_balance=BALANCE_MICROS)],
        # Today: the ladders, a decision and its three orders.
        [today_market],
        [decision],
        [a_leg_submitted(legs[0], decision, city="NYC", recorded_at=at(10))],
        [an_order_accepted(SECRET_ORDER_IDS[0], recorded_at=at(10))],
        [an_order_filled(SECRET_FILL_IDS[1], client_order_id=SECRET_ORDER_IDS[0],
                         ticker=f"{TODAY}-B81.5", price=3600, count=500, recorded_at=at(11))],
        [a_market_snapshot(CHICAGO, version=1, city="CHI", recorded_at=at(100))],
        [a_leg_submitted(legs[1], decision, city="CHI", recorded_at=at(100))],
        [an_order_accepted(SECRET_ORDER_IDS[1], recorded_at=at(100))],
        # Thirty minutes old at the clock: private until T0 + 2h30.
        [an_order_filled(SECRET_FILL_IDS[2], client_order_id=SECRET_ORDER_IDS[1], city="CHI",
                         ticker=f"{CHICAGO}-B81.5", side=Side.YES, price=4100, count=300,
                         recorded_at=at(150))],
        [a_market_snapshot(TODAY, version=2, recorded_at=at(120), best_yes_bid=4000,
                           best_no_bid=5500)],
        [a_breaker_tripped("CHI", "market:daily_high", recorded_at=at(130))],
        [AlertRaised(**envelope("alert:test:1", recorded_at=at(140)), severity="warning",
                     kind="venue_errors", message=ALERT_MESSAGE,
                     context={"detail": "ALERT-SECRET context"})],
        [a_leg_submitted(legs[2], decision, city="NYC", recorded_at=at(170))],
        [an_order_accepted(SECRET_ORDER_IDS[2], recorded_at=at(170))],
        [a_market_snapshot(TODAY, version=3, recorded_at=CLOCK, best_yes_bid=4200,
                           best_no_bid=5500)],
    ]


def seed(ledger: Ledger) -> Seeded:
    for command in commands():
        ledger.store.append(command)
    return Seeded()

