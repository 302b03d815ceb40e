"""The decision code's version names its output: the same inputs give the same bytes under one
``DECISION_CODE``, so ``replay`` can tell a decision made by another version from one that does
not reproduce. A change to what ``decide`` writes must come with a new version."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from domain.config import parse_config
from domain.decision import DECISION_CODE, DecisionInputs, Portfolio, decide
from domain.events import DecisionMade, Observation
from eventstore.codec import encode
from milkbot.settings import SHIPPED_CONFIG
from tests.builders import T0, a_market_snapshot, a_weather_snapshot

#: The digest of ``decisions()``'s bytes under each version of the decision code.
PINNED = {2: "3978d65bc79b969bfaecaf36bd4b9117cdbca6af9c59c04b2558f35edc0c6403"}


def decisions() -> list[DecisionMade]:
    """Two ladders, two books, and a day whose observed maximum sits on a bin's edge (78.5°F,
    between ``<=78`` and ``79-80``), decided by every shipped strategy. The configuration's
    version is fixed: only the decision code's output is pinned."""
    config, _ = parse_config(SHIPPED_CONFIG.read_text())
    plain = a_weather_snapshot(recorded_at=T0)
    on_edge = plain.model_copy(update={"observations": (
        *plain.observations[1:],
        Observation(time=T0 - timedelta(minutes=10), temperature_f=78.5, raw_message="KNYC"))})
    made: list[DecisionMade] = []
    for weather in (plain, on_edge):
        for i, ticker in enumerate(("KXHIGHNY-26AUG28", "KXHIGHNY-26AUG29")):
            market = a_market_snapshot(ticker, recorded_at=T0 + timedelta(minutes=i + 1),
                                       best_yes_bid=2000 + 1000 * i, best_no_bid=6500 - 1000 * i)
            made += decide(DecisionInputs(market=market, config=config, config_version="0" * 64,
                                          weather=weather,
                                          portfolio=Portfolio(balance=500_000_000)))
    return made


def test_the_decision_code_version_names_its_bytes() -> None:
    made = decisions()
    assert {d.decision_code for d in made} == {DECISION_CODE}
    digest = hashlib.sha256(b"\n".join(encode(d) for d in made)).hexdigest()
    assert PINNED.get(DECISION_CODE) == digest, (
        f"decide() now writes other bytes (sha256 {digest}). If the decision code changed what "
        "it decides or records, bump domain.decision.DECISION_CODE and pin this digest under the "
        "new version; if only the shipped configuration changed, pin it under this one.")
