"""Replaying decisions from their recorded inputs: the same bytes when nothing changed; exactly
the decisions that used an altered input fail; ``explain`` tells one in plain words."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from domain.config import config_recorded
from domain.decision import DECISION_CODE, DecisionInputs, Portfolio, decide
from domain.events import DecisionMade, deterministic_id
from eventstore import Ledger
from eventstore.codec import encode
from milkbot.settings import SHIPPED_CONFIG
from replay.decisions import replay_all, replay_one
from replay.explain import explain
from tests.builders import T0, a_market_snapshot, a_weather_snapshot
from tests.integration.test_ledger_chain import tamper

TEXT = SHIPPED_CONFIG.read_text()


def record_decisions(ledger: Ledger) -> list[DecisionMade]:
    """Two ladders, each decided by every configured strategy, as the handler records them."""
    recorded = config_recorded(TEXT, source="test", recorded_at=T0, correlation_id=deterministic_id("c"))
    ledger.store.append([recorded])
    from domain.config import parse_config
    config, version = parse_config(TEXT)
    weather = a_weather_snapshot(recorded_at=T0)
    ledger.store.append([weather])
    decisions: list[DecisionMade] = []
    for i, ticker in enumerate(("KXHIGHNY-26AUG28", "KXHIGHNY-26AUG29")):
        market = a_market_snapshot(ticker, recorded_at=T0 + timedelta(minutes=i + 1),
                                   best_yes_bid=2000 + 1000 * i, best_no_bid=6500 - 1000 * i)
        ledger.store.append([market])
        made = decide(DecisionInputs(market=market, config=config, config_version=version, weather=weather,
                                     portfolio=Portfolio(balance=500_000_000)))
        ledger.store.append(list(made))
        decisions += made
    return decisions


def record_an_older_decision(ledger: Ledger) -> DecisionMade:
    """A third ladder's decision as version 1 of the decision code recorded it (after
    ``record_decisions``): without a ``decision_code`` field, and with a no-trade reason this code
    would not give."""
    from eventsourcing.persistence import StoredEvent

    from domain.config import parse_config
    config, version = parse_config(TEXT)
    [weather] = ledger.store.read_stream("weather:NYC")
    market = a_market_snapshot("KXHIGHNY-26AUG30", recorded_at=T0 + timedelta(minutes=5))
    ledger.store.append([market])
    made = decide(DecisionInputs(market=market, config=config, config_version=version,
                                 weather=weather, portfolio=Portfolio(balance=500_000_000)))[0]
    fields = orjson.loads(encode(made))
    del fields["decision_code"]
    fields["no_trade_reason"] = "as version 1 put it"
    ledger.backend.insert([StoredEvent(originator_id=made.stream, originator_version=1,
                                       topic="DecisionMade.v1", state=orjson.dumps(fields))])
    return made


def test_every_decision_replays_to_the_same_bytes(ledger: Ledger) -> None:
    decisions = record_decisions(ledger)
    replayed = list(replay_all(ledger.store))
    assert [r.decision_id for r in replayed] == [d.decision_id for d in decisions]
    assert all(r.ok for r in replayed), [r.differences() for r in replayed if not r.ok]
    [one] = replay_one(ledger.store, decisions[-1].decision_id)
    assert one.ok and one.replayed == one.recorded


def test_a_decision_of_another_decision_code_is_told_from_a_mismatch(ledger: Ledger) -> None:
    decisions = record_decisions(ledger)
    older = record_an_older_decision(ledger)
    replayed = {r.decision_id: r for r in replay_all(ledger.store)}
    assert all(replayed[d.decision_id].ok for d in decisions)
    told = replayed[older.decision_id]
    assert (told.ok, told.made_by, told.replayed) == (False, 1, None)
    assert told.differences() == [
        f"made by decision code v1; this Milkbot's is v{DECISION_CODE}: a release of v1 re-derives it"]
    [one] = replay_one(ledger.store, older.decision_id)
    assert one.made_by == 1


def test_an_altered_input_fails_exactly_the_decisions_that_used_it(ledger: Ledger) -> None:
    decisions = record_decisions(ledger)
    second = decisions[-1]
    snapshot = next(r for r in ledger.store.read_stream_records(f"market:{second.event_ticker}"))
    altered = snapshot.data.replace(b"[3000,1000]", b"[3400,1000]", 1)  # one YES bid moved up 4c
    assert altered != snapshot.data
    tamper(ledger, lambda pos: f"UPDATE stored_events SET state = ? WHERE {pos} = ?",
           (altered, snapshot.position))
    failed = {r.decision_id for r in replay_all(ledger.store) if not r.ok}
    assert failed == {d.decision_id for d in decisions if d.event_ticker == second.event_ticker}
    [again] = replay_one(ledger.store, second.decision_id)
    assert not again.ok and any(d.startswith("probabilities:") for d in again.differences())


def test_a_decision_whose_input_is_gone_says_so(ledger: Ledger) -> None:
    decisions = record_decisions(ledger)
    first = decisions[0]
    tamper(ledger, lambda pos: "DELETE FROM stored_events WHERE originator_id = ?",
           (f"market:{first.event_ticker}",))
    [replayed] = replay_one(ledger.store, first.decision_id)[:1]
    assert not replayed.ok and "not in the ledger" in (replayed.problem or "")


def test_an_unknown_decision_is_a_lookup_error(ledger: Ledger) -> None:
    with pytest.raises(LookupError):
        replay_one(ledger.store, deterministic_id("nothing"))


def test_explain_tells_inputs_probabilities_edges_and_orders(ledger: Ledger) -> None:
    decisions = record_decisions(ledger)
    traded = next((d for d in decisions if d.intended_orders), None)
    idle = next(d for d in decisions if not d.intended_orders)
    text = "\n".join(explain(ledger, idle.decision_id))
    assert str(idle.decision_id) in text and "market snapshot" in text and "weather snapshot" in text
    assert "Probabilities (YES) per bin" in text and "81-82°F" in text.replace(".0", "")
    assert f"No trade: {idle.no_trade_reason}" in text
    if traded is not None:
        story = "\n".join(explain(ledger, traded.decision_id))
        assert "Edges after fees" in story and "risk: not checked" in story
