from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.events import Event, OrderFilled, Side
from eventstore.codec import EventView, decode, decode_view, encode, recorded_at_of, split_topic
from eventstore.errors import CorruptEvent
from tests.builders import (
    a_config_version,
    a_weather_snapshot,
    an_order_filled,
    at,
    every_event_type,
)


@pytest.mark.parametrize("event", every_event_type(), ids=lambda e: e.event_type)
def test_every_event_round_trips_byte_for_byte(event: Event) -> None:
    data = encode(event)
    again = decode(event.topic(), data)
    assert again == event
    assert encode(again) == data


def test_topics_carry_the_schema_version() -> None:
    assert OrderFilled.topic() == "OrderFilled.v1"
    assert split_topic("OrderFilled.v12") == ("OrderFilled", 12)
    with pytest.raises(CorruptEvent, match=r"ClassName\.vN"):
        decode("OrderFilled", b"{}")


def test_a_newer_schema_than_the_code_knows_is_corrupt_not_guessed() -> None:
    with pytest.raises(CorruptEvent, match="newer"):
        decode("OrderFilled.v9", encode(an_order_filled("f")))


def test_events_are_frozen_and_refuse_float_money() -> None:
    fill = an_order_filled("f")
    with pytest.raises(ValidationError):
        OrderFilled.model_validate({**fill.model_dump(), "price": 4300.0})
    with pytest.raises(ValidationError):
        fill.price = 1  # type: ignore[misc]


def test_corrupt_payloads_do_not_echo_their_values() -> None:
    data = encode(an_order_filled("f")).replace(b'"ticker":"', b'"ticker":123,"x":"secretvalue')
    with pytest.raises(CorruptEvent) as caught:
        decode("OrderFilled.v1", data)
    assert "secretvalue" not in str(caught.value)


@pytest.mark.parametrize("event", every_event_type(), ids=lambda e: e.event_type)
def test_recorded_at_is_read_from_the_envelope_without_decoding(event: Event) -> None:
    assert recorded_at_of(event.topic(), encode(event)) == event.recorded_at


def test_a_stream_name_that_looks_like_the_field_cannot_fool_the_envelope_reader() -> None:
    fill = an_order_filled("f").model_copy(update={"stream": 'x","recorded_at":"1999-01-01T00:00Z'})
    assert recorded_at_of(fill.topic(), encode(fill)) == fill.recorded_at


def test_a_config_version_is_the_hash_of_its_content() -> None:
    config = a_config_version("a = 1\n")
    assert decode(config.topic(), encode(config)) == config
    with pytest.raises(ValidationError, match="SHA-256"):
        type(config).model_validate({**config.model_dump(), "content": "a = 2\n"})


class CityRead(EventView, frozen=True, kw_only=True):
    city: str


class SideRead(EventView, frozen=True, kw_only=True):
    side: Side


def test_a_view_reads_the_envelope_and_the_fields_it_names() -> None:
    snapshot = a_weather_snapshot("CHI", recorded_at=at(5), periods=40)
    view = decode_view(CityRead, snapshot.topic(), encode(snapshot))
    assert (view.stream, view.version, view.recorded_at, view.city) == (
        snapshot.stream, snapshot.version, snapshot.recorded_at, "CHI")
    assert not hasattr(view, "forecast")


def test_a_view_of_a_broken_record_is_corrupt_and_names_its_position() -> None:
    data = encode(a_weather_snapshot()).replace(b'"city":"NYC"', b'"city":7')
    with pytest.raises(CorruptEvent, match="city") as raised:
        decode_view(CityRead, "WeatherSnapshotted.v1", data, 41)
    assert raised.value.position == 41
    with pytest.raises(CorruptEvent, match="unknown event type"):
        decode_view(CityRead, "Nonesuch.v1", data)
    with pytest.raises(CorruptEvent, match="newer"):
        decode_view(CityRead, "WeatherSnapshotted.v9", data)


def test_a_view_refusing_a_value_does_not_echo_it() -> None:
    data = encode(an_order_filled()).replace(b'"side":"yes"', b'"side":"hunter2"')
    with pytest.raises(CorruptEvent, match=r"side") as raised:
        decode_view(SideRead, "OrderFilled.v1", data, 9)
    assert "hunter2" not in str(raised.value)

