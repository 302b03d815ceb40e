"""The advisory note has no path to orders or sizing (issue 7, item 5; PRODUCT.md: "LLM notes are
advisory only and never place or size an order").

Two lines hold it: importing ``milkbot.advisory`` in a fresh interpreter loads nothing that places,
sizes, risks or decides an order; and its event carries no field an order could be built from.
"""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from domain.events import Action, AdvisoryNoteRecorded, Event, IntendedOrder, OrderSubmitted, Side

ROOT = Path(__file__).resolve().parents[2]

#: What the advisory module must never load, even indirectly: the order manager, the venue, and
#: the rules that decide and size orders.
NO_PATH_TO_ORDERS = (
    "milkbot.orders",
    "adapters.kalshi",
    "domain.strategies",
    "domain.risk",
    "domain.decision",
    "domain.oms",
)


def modules_loaded_by(module: str) -> list[str]:
    """Every module a fresh interpreter holds after ``import module`` (its whole import graph)."""
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}, sys; print('\\n'.join(sorted(sys.modules)))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def offenders(loaded: list[str]) -> list[str]:
    return [name for name in loaded
            if any(name == banned or name.startswith(banned + ".") for banned in NO_PATH_TO_ORDERS)]


def test_the_advisory_module_loads_nothing_that_places_or_sizes_an_order() -> None:
    loaded = modules_loaded_by("milkbot.advisory")
    assert "milkbot.advisory" in loaded and "httpx" in loaded  # the walk saw the module's graph
    assert offenders(loaded) == []


def test_the_walk_would_catch_an_order_path() -> None:
    # The same check against the order manager: were the advisory to import it, this is the list.
    assert {"milkbot.orders", "adapters.kalshi.errors", "domain.oms"} <= set(
        offenders(modules_loaded_by("milkbot.orders")))


#: The fields an advisory note carries beyond the event envelope. Adding one means reading this
#: file's docstring again.
ADVISORY_FIELDS = {
    "day", "model", "provider_request_id", "prompt_digest", "note",
    "prompt_tokens", "completion_tokens", "total_tokens",
}


def test_the_note_event_carries_only_its_note_and_its_provenance() -> None:
    own = set(AdvisoryNoteRecorded.model_fields) - set(Event.model_fields)
    assert own == ADVISORY_FIELDS


@pytest.mark.parametrize("order_type", [IntendedOrder, OrderSubmitted])
def test_no_field_of_the_note_is_a_field_an_order_is_built_from(order_type: type[BaseModel]) -> None:
    order_fields = set(order_type.model_fields) - set(Event.model_fields)
    assert {"ticker", "side", "action", "price", "count"} <= order_fields  # what an order needs
    assert set(AdvisoryNoteRecorded.model_fields) & order_fields == set()


def test_no_field_of_the_note_has_an_order_type() -> None:
    for name, info in AdvisoryNoteRecorded.model_fields.items():
        if name in Event.model_fields:
            continue
        mentioned = {info.annotation, *_types_in(info.annotation)}
        assert not mentioned & {Side, Action, IntendedOrder}, name


def _types_in(annotation: object) -> set[object]:
    found: set[object] = set()
    for arg in typing.get_args(annotation):
        found |= {arg, *_types_in(arg)}
    return found
