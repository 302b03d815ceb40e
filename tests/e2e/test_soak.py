"""The soak benchmark: a short soak through ``bench.soak.main`` meeting its targets (marked ``soak``,
so ``make test`` leaves it out), and fast tests of its fault schedule, fault switch, faulty
transport and percentiles."""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace

import httpx
import pytest

from adapters.kalshi.simulator import Faults as ExchangeFaults
from adapters.nws.simulator.faults import Faults as NwsFaults
from bench.soak import (
    EXCHANGE_COUNTERS,
    KINDS,
    RSS_LIMIT_MB,
    TRANSPORT_COUNTERS,
    Fault,
    FaultSwitch,
    FaultyTransport,
    main,
    percentile,
    quiet_from,
    schedule_faults,
)

CITIES = ("NYC", "CHI", "MIA", "AUS", "LAX", "DEN", "PHL", "HOU", "SEA", "DCA")


@pytest.mark.soak
def test_six_simulated_hours_with_faults_meet_the_targets(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--hours", "6", "--seed", "3"])

    out, summary = capsys.readouterr()
    result = json.loads(out)
    assert result["bench"] == "soak" and result["simulated_hours"] == 6.0
    assert result["crashes"] == 0, summary
    assert result["unhandled"] == 0, summary
    assert result["duplicates"] == 0, summary
    assert result["rss_end_mb"] <= RSS_LIMIT_MB, summary
    assert result["orders"] > 0 and result["faults"] > 0, result
    assert {"baseline", "ratio", "step_ms_p50", "step_ms_p99", "rss_start_mb"} <= set(result)
    assert status == 0


# -- the fault schedule ----------------------------------------------------------------------------


def test_the_schedule_is_a_function_of_the_seed() -> None:
    def schedule(seed: int) -> list[Fault]:
        return schedule_faults(seed, 2_160, step_minutes=2, per_hour=1.5, cities=CITIES)

    assert schedule(0) == schedule(0)
    assert schedule(0) != schedule(1)


def test_three_days_switch_on_every_kind_of_fault_and_none_in_the_quiet_end() -> None:
    steps = 2_160
    faults = schedule_faults(0, steps, step_minutes=2, per_hour=1.5, cities=CITIES)
    quiet = quiet_from(steps, 2)

    assert quiet == steps - 216
    assert {f.kind for f in faults} == set(KINDS)
    assert 60 < len(faults) < 150  # about 1.5 an hour over 64.8 hours
    assert all(f.step + f.steps <= quiet for f in faults)
    for fault in faults:
        name = fault.kind.split(".", 1)[1]
        if fault.kind in TRANSPORT_COUNTERS or name in EXCHANGE_COUNTERS:
            low, high = TRANSPORT_COUNTERS.get(fault.kind) or EXCHANGE_COUNTERS[name]
            assert fault.steps == 0 and low <= fault.amount <= high
        else:
            assert fault.steps >= 1
        assert set(fault.cities) <= set(CITIES)


def test_a_run_shorter_than_its_quiet_end_has_no_fault() -> None:
    assert quiet_from(20, 5) == 8  # the last hour at least
    assert schedule_faults(0, 10, step_minutes=5, per_hour=100, cities=CITIES) == []


# -- switching faults on and off -------------------------------------------------------------------


def a_switch(schedule: list[Fault], quiet: int = 100) -> tuple[FaultSwitch, SimpleNamespace, list[NwsFaults]]:
    exchange = SimpleNamespace(faults=ExchangeFaults())
    nws: list[NwsFaults] = []
    transports = {name: FaultyTransport(httpx.MockTransport(lambda _r: httpx.Response(200)))
                  for name in ("kalshi", "nws")}
    switch = FaultSwitch(schedule, exchange, nws.append, transports, quiet)
    return switch, exchange, nws


def test_counters_add_up_windows_close_and_the_quiet_end_switches_everything_off() -> None:
    switch, exchange, nws = a_switch([
        Fault(0, "exchange.rate_limit_next", amount=3),
        Fault(0, "exchange.duplicate_fills", steps=2),
        Fault(1, "exchange.rate_limit_next", amount=2),
        Fault(1, "nws.html_502", steps=1, cities=("NYC",)),
        Fault(1, "nws.html_502", steps=2, cities=("SEA",)),
        Fault(1, "kalshi.dropped", amount=2),
    ], quiet=4)

    assert switch.before(0)
    assert exchange.faults.rate_limit_next == 3 and exchange.faults.duplicate_fills
    exchange.faults.rate_limit_next = 1  # the simulator counted two requests down
    assert switch.before(1)
    assert exchange.faults.rate_limit_next == 3 and exchange.faults.duplicate_fills
    assert nws[-1].html_502 == frozenset({"NYC", "SEA"})
    assert switch.transports["kalshi"].drops == 2
    exchange.faults.rate_limit_next = 0
    switch.transports["kalshi"].drops = 0
    assert switch.before(2)  # the SEA window is still open
    assert not exchange.faults.duplicate_fills and nws[-1].html_502 == frozenset({"SEA"})
    assert not switch.before(3)
    assert nws[-1] == NwsFaults() and exchange.faults == ExchangeFaults()

    exchange.faults.timeout_next = 5  # left over when the quiet end begins
    switch.transports["nws"].refusals = 1
    assert not switch.before(4)
    assert exchange.faults == ExchangeFaults() and switch.transports["nws"].refusals == 0
    assert switch.started == Counter({"exchange.rate_limit_next": 2, "exchange.duplicate_fills": 1,
                                      "nws.html_502": 2, "kalshi.dropped": 1})


def test_a_lost_create_answer_waiting_for_an_order_leaves_the_step_clean() -> None:
    switch, exchange, _ = a_switch([Fault(0, "exchange.lose_create_answer_next", amount=1)])

    assert not switch.before(0)
    assert exchange.faults.lose_create_answer_next == 1


def test_two_counters_of_one_kind_starting_together_add_up() -> None:
    switch, exchange, _ = a_switch([Fault(0, "exchange.timeout_next", amount=1),
                                    Fault(0, "exchange.timeout_next", amount=2)])

    assert switch.before(0)
    assert exchange.faults.timeout_next == 3


# -- the faulty transport --------------------------------------------------------------------------


def test_the_transport_refuses_drops_and_counts_the_creations_that_reached_the_server() -> None:
    answers = iter([429, 201, 201, 201, 200])
    transport = FaultyTransport(httpx.MockTransport(lambda _r: httpx.Response(next(answers), json={})))
    client = httpx.Client(transport=transport, base_url="http://sim/trade-api/v2")

    def create(*ids: str) -> httpx.Response:
        if len(ids) == 1:
            return client.post("/portfolio/events/orders", json={"client_order_id": ids[0]})
        return client.post("/portfolio/events/orders/batched",
                           json={"orders": [{"client_order_id": i} for i in ids]})

    transport.refusals = 1
    with pytest.raises(httpx.ConnectError):
        create("a")  # never left
    assert create("a").status_code == 429  # refused: nothing done
    assert create("a").status_code == 201
    transport.drops = 1
    with pytest.raises(httpx.RemoteProtocolError):
        create("b", "c")  # done, answer lost
    create("a")
    client.get("/portfolio/orders")
    client.close()

    assert transport.created == Counter({"a": 2, "b": 1, "c": 1})
    assert transport.refusals == transport.drops == 0


# -- percentiles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([], 50, None),
    ([7.0], 99, 7.0),
    ([3.0, 1.0, 2.0], 50, 2.0),
    ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
    ([float(i) for i in range(1, 101)], 99, 99.01),
    ([float(i) for i in range(1, 101)], 100, 100.0),
    ([5.0, 1.0], 0, 1.0),
])
def test_percentiles_interpolate_between_the_closest_ranks(values: list[float], q: float,
                                                           expected: float | None) -> None:
    assert percentile(values, q) == pytest.approx(expected)

