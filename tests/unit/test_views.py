"""Projections' views of events (``EventView``): each names its event's fields, under the same
names and types, so a fold reads a view exactly as it would read the whole event."""

from __future__ import annotations

import typing
from typing import Any

import msgspec
import pytest
from pydantic import BaseModel

from domain.events import DecisionMade, Edge, Event
from eventstore.codec import decode, decode_view, encode
from eventstore.errors import CorruptEvent
from projections.base import Projection
from projections.calibration import SKIPPED
from projections.registry import all_projections
from projections.views import NOT_VIEWED, DecisionView, FillView, whole_decision
from tests.builders import (
    a_decision_to_trade,
    a_leg,
    a_market_snapshot,
    a_priced_decision,
    an_order_filled,
    every_event_type,
)

#: Samples of every event type a projection views, the richer builders included.
SAMPLES: list[Event] = [*every_event_type(), a_priced_decision(), a_decision_to_trade(
    None, a_leg("mb-view-1"), a_leg("mb-view-2")), a_market_snapshot(version=2)]
VIEWS = sorted({(name, view) for p in all_projections() for name, view in p.views.items()},
               key=lambda nv: (nv[0], nv[1].__name__))


def _inner(annotation: Any, kind: type) -> type | None:
    """The struct or model class a field's annotation holds (itself, in a tuple, or optional)."""
    if isinstance(annotation, type) and issubclass(annotation, kind):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner(arg, kind)
        if found is not None:
            return found
    return None


def _assert_names_fields_of(view: type[msgspec.Struct], model: type[BaseModel]) -> None:
    for field in msgspec.structs.fields(view):
        assert field.name in model.model_fields, (
            f"{view.__name__}.{field.name} is not a field of {model.__name__}")
        struct = _inner(field.type, msgspec.Struct)
        if struct is not None:
            nested = _inner(model.model_fields[field.name].annotation, BaseModel)
            assert nested is not None, f"{model.__name__}.{field.name} holds no record"
            _assert_names_fields_of(struct, nested)


@pytest.mark.parametrize(("name", "view"), VIEWS, ids=lambda v: getattr(v, "__name__", v))
def test_a_view_names_fields_of_its_event(name: str, view: type[msgspec.Struct]) -> None:
    _assert_names_fields_of(view, Event.registry[name])


@pytest.mark.parametrize(("name", "view"), VIEWS, ids=lambda v: getattr(v, "__name__", v))
def test_a_view_read_from_bytes_is_the_view_of_the_whole_event(
        name: str, view: type[msgspec.Struct]) -> None:
    samples = [e for e in SAMPLES if e.event_type == name]
    assert samples, f"no sample {name}"
    for event in samples:
        from_bytes = decode_view(view, event.topic(), encode(event))  # type: ignore[type-var]
        assert from_bytes == msgspec.convert(event, view, from_attributes=True)


def test_every_projection_views_only_what_it_folds() -> None:
    projection: Projection
    for projection in all_projections():
        assert set(projection.views) <= projection.consumes, projection.name


def test_a_decision_view_is_the_whole_decision_but_its_edges() -> None:
    assert {f.name for f in msgspec.structs.fields(DecisionView)} == (
        set(DecisionMade.model_fields) - NOT_VIEWED)
    leg = a_leg("mb-view-3")
    decision = a_decision_to_trade(None, leg).model_copy(update={"edges": (Edge(
        ticker=leg.ticker, side=leg.side, action=leg.action, probability=0.6, price=leg.price,
        fee_per_contract=70_000, edge_after_fees=0.1),)})
    assert decision.edges and decision.intended_orders
    view = decode_view(DecisionView, decision.topic(), encode(decision))
    assert whole_decision(view) == decision.model_copy(update=dict.fromkeys(NOT_VIEWED, ()))


def test_calibration_keeps_a_decision_whole_but_its_edges_and_orders() -> None:
    decision = a_decision_to_trade(None, a_leg("mb-view-4"))
    view = decode_view(DecisionView, decision.topic(), encode(decision))
    kept = msgspec.structs.replace(view, intended_orders=())
    slim = decision.model_copy(update=dict.fromkeys(SKIPPED, ()))
    assert whole_decision(kept).model_dump_json() == slim.model_dump_json()


@pytest.mark.parametrize(("field", "value"), [("price", b"10001"), ("count", b"-1"),
                                              ("price", b"1.5")])
def test_a_view_refuses_what_the_event_refuses(field: str, value: bytes) -> None:
    fill = an_order_filled()
    data = encode(fill).replace(f'"{field}":{getattr(fill, field)}'.encode(),
                                f'"{field}":'.encode() + value)
    assert data != encode(fill)
    with pytest.raises(CorruptEvent, match=field):
        decode(fill.topic(), data, 5)
    with pytest.raises(CorruptEvent, match=field) as raised:
        decode_view(FillView, fill.topic(), data, 5)
    assert raised.value.position == 5
