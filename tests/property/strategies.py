"""Hypothesis strategies for the ledger properties: trading commands, and any catalogued event.

Commands are small frozen values (so hypothesis shrinks and prints them well); ``Script`` turns them
into the events a real command would record, with consistent streams, versions and a clock that
only moves when told to. ``event_of(name)`` derives a strategy for any event class from its pydantic
fields (constraints included), so a new event type is covered the day it joins ``Event.registry``.
"""

from __future__ import annotations

import types
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo

import annotated_types
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from domain.events import (
    Action,
    Event,
    MarketQuote,
    MarketSettled,
    MarketSnapshotted,
    OrderFilled,
    Side,
    config_version_of,
    deterministic_id,
)
from domain.money import PRICE_SCALE, taker_fee
from tests.builders import T0, a_market_snapshot, an_order_filled, an_order_submitted, envelope

# -- the markets the commands trade -------------------------------------------------------------

#: Two ladders (two cities), three markets each.
LADDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "KXHIGHNY-26AUG28": ("NYC", ("B80.5", "B82.5", "T85")),
    "KXHIGHCHI-26AUG28": ("CHI", ("B70.5", "B72.5", "T75")),
}
TICKERS: tuple[str, ...] = tuple(f"{event}-{leg}" for event, (_, legs) in LADDERS.items()
                                 for leg in legs)
CITY_OF: dict[str, str] = {f"{event}-{leg}": city for event, (city, legs) in LADDERS.items()
                           for leg in legs}

prices = st.integers(0, PRICE_SCALE)
#: Contracts in 1/100 units: whole contracts and fractional ones (Kalshi fills can be fractional).
counts = st.one_of(st.integers(1, 50).map(lambda n: n * 100), st.integers(1, 5_000))
#: None means Kalshi's taker fee for the fill; otherwise any fee, rebates (negative) included.
fees = st.one_of(st.none(), st.integers(0, 2_000_000), st.integers(-50_000, 0))


# -- commands ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Advance:
    """The clock moves on."""

    minutes: int


@dataclass(frozen=True)
class Book:
    yes_bids: tuple[tuple[int, int], ...]
    no_bids: tuple[tuple[int, int], ...]
    last_price: int | None


@dataclass(frozen=True)
class Snapshot:
    """A whole ladder's books as the venue showed them."""

    event_ticker: str
    books: tuple[Book, ...]


@dataclass(frozen=True)
class Fill:
    ticker: str
    side: Side
    action: Action
    price: int
    count: int
    fee: int | None = None
    #: False: the fill names no city (an order we cannot place).
    with_city: bool = True
    #: Minutes the venue's execution time lies before our clock (negative: the venue is ahead).
    venue_lag: int = 0
    #: Minutes this record's ``recorded_at`` lies behind the ledger clock (a slower writer).
    skew: int = 0
    #: The UTC offset (minutes) the venue time is expressed in.
    venue_offset: int = 0


@dataclass(frozen=True)
class Settle:
    ticker: str
    value: int


@dataclass(frozen=True)
class Submit:
    """An order we sent: an event no projection folds, which still moves the ledger clock."""


@dataclass(frozen=True)
class Resend:
    """A retried command: the events of an earlier command, appended again (same ids)."""

    which: int


@dataclass(frozen=True)
class Rereport:
    """The venue reports an earlier fill again, which we record in a new stream."""

    which: int


@dataclass(frozen=True)
class CatchUp:
    """The live follower folds what has been recorded, in batches of this size."""

    batch_size: int


@dataclass(frozen=True)
class Restart:
    """The follower process restarts: new projection objects, loaded from their tables."""


Command = Advance | Snapshot | Fill | Settle | Submit | Resend | Rereport | CatchUp | Restart


@dataclass
class Script:
    """Turns commands into events as a running Milkbot would record them."""

    clock: datetime = T0
    fills: list[OrderFilled] = field(default_factory=list)
    commands: list[list[Event]] = field(default_factory=list)
    snapshot_versions: dict[str, int] = field(default_factory=dict)
    settlement_versions: dict[str, int] = field(default_factory=dict)
    submitted: int = 0
    rereports: int = 0

    def events_for(self, command: Command) -> list[Event] | None:
        """The events ``command`` records, or None for a command that records nothing."""
        events: list[Event]
        if isinstance(command, Advance):
            self.clock += timedelta(minutes=command.minutes)
            return None
        if isinstance(command, Snapshot):
            events = [self.snapshot(command)]
        elif isinstance(command, Fill):
            events = [self.fill(command)]
        elif isinstance(command, Settle):
            events = [self.settlement(command.ticker, command.value)]
        elif isinstance(command, Submit):
            self.submitted += 1
            events = [an_order_submitted(f"mb-submitted-{self.submitted}",
                                         recorded_at=self.clock)]
        elif isinstance(command, Resend):
            if not self.commands:
                return None
            return self.commands[command.which % len(self.commands)]
        elif isinstance(command, Rereport):
            if not self.fills:
                return None
            events = [self.rereport(self.fills[command.which % len(self.fills)])]
        else:
            return None
        self.commands.append(events)
        return events

    def snapshot(self, command: Snapshot) -> MarketSnapshotted:
        city, legs = LADDERS[command.event_ticker]
        version = self.snapshot_versions.get(command.event_ticker, 0) + 1
        self.snapshot_versions[command.event_ticker] = version
        quotes = tuple(
            MarketQuote(ticker=f"{command.event_ticker}-{leg}", status="active",
                        yes_bids=book.yes_bids, no_bids=book.no_bids, last_price=book.last_price)
            for leg, book in zip(legs, command.books, strict=False))
        return a_market_snapshot(command.event_ticker, version=version, recorded_at=self.clock,
                                 city=city, markets=quotes)

    def fill(self, command: Fill) -> OrderFilled:
        venue_zone = timezone(timedelta(minutes=command.venue_offset))
        fill = an_order_filled(
            f"fill-{len(self.fills) + 1}", ticker=command.ticker, side=command.side,
            action=command.action, price=command.price, count=command.count,
            fee=taker_fee(command.price, command.count) if command.fee is None else command.fee,
            city=CITY_OF[command.ticker] if command.with_city else None,
            recorded_at=self.clock - timedelta(minutes=command.skew),
            venue_time=(self.clock - timedelta(minutes=command.venue_lag)).astimezone(venue_zone),
        )
        self.fills.append(fill)
        return fill

    def settlement(self, ticker: str, value: int) -> MarketSettled:
        version = self.settlement_versions.get(ticker, 0) + 1
        self.settlement_versions[ticker] = version
        result: Literal["yes", "no", "scalar"] = (
            "yes" if value == PRICE_SCALE else "no" if value == 0 else "scalar")
        return MarketSettled(**envelope(f"settlement:{ticker}", version, recorded_at=self.clock),
                             ticker=ticker, event_ticker=ticker.rsplit("-", 1)[0], result=result,
                             settlement_value=value)

    def rereport(self, original: OrderFilled) -> OrderFilled:
        """The same venue trade (same ``fill_id``) reported again, in a stream of its own."""
        self.rereports += 1
        stream = f"fill-report:{original.fill_id}:{self.rereports}"
        return OrderFilled.model_validate({
            **original.model_dump(), "stream": stream, "version": 1,
            "event_id": deterministic_id("rereport", stream), "recorded_at": self.clock,
        })


# -- command strategies --------------------------------------------------------------------------

levels = st.lists(st.tuples(prices, st.integers(0, 10_000)), max_size=3).map(tuple)
books = st.builds(Book, yes_bids=levels, no_bids=levels,
                  last_price=st.one_of(st.none(), prices))
snapshots = st.builds(Snapshot, event_ticker=st.sampled_from(sorted(LADDERS)),
                      books=st.lists(books, min_size=1, max_size=3).map(tuple))
advances = st.builds(Advance, minutes=st.one_of(st.integers(0, 90), st.integers(90, 600)))
settlement_values = st.one_of(st.sampled_from([0, PRICE_SCALE]), prices)


any_ticker = st.sampled_from(TICKERS)
any_side = st.sampled_from(Side)
any_action = st.sampled_from(Action)


def fills(tickers: st.SearchStrategy[str] = any_ticker, sides: st.SearchStrategy[Side] = any_side,
          actions: st.SearchStrategy[Action] = any_action) -> st.SearchStrategy[Fill]:
    return st.builds(
        Fill, ticker=tickers, side=sides, action=actions, price=prices, count=counts, fee=fees,
        with_city=st.booleans(),
        venue_lag=st.one_of(st.just(0), st.integers(-10, 180)),
        skew=st.one_of(st.just(0), st.integers(0, 30)),
        venue_offset=st.sampled_from([0, 0, -300, -240, 60, 330]),
    )


settles = st.builds(Settle, ticker=st.sampled_from(TICKERS), value=settlement_values)
catch_ups = st.builds(CatchUp, batch_size=st.integers(1, 7))

#: What a trading day records: books, fills, settlements, orders, retries, time passing.
trading_commands = st.one_of(
    fills(), fills(), fills(), snapshots, settles, advances, advances, st.just(Submit()),
    st.builds(Resend, which=st.integers(0, 50)), st.builds(Rereport, which=st.integers(0, 50)),
)
#: The same, with a live follower catching up (and restarting) in between.
following_commands = st.one_of(
    trading_commands, trading_commands, catch_ups, st.just(Restart()),
)


# -- any event of the catalogue ------------------------------------------------------------------

#: Text the codec can store: any character but lone surrogates, which UTF-8 cannot hold.
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
#: Zones with whole-minute offsets (sub-minute offsets do not survive; see the report's examples).
zones = st.one_of(
    st.just(UTC),
    st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
    st.sampled_from([ZoneInfo("America/New_York"), ZoneInfo("America/Chicago"),
                     ZoneInfo("Asia/Kolkata")]),
)


def _unambiguous(moment: datetime) -> bool:
    # A wall time in a repeated hour (DST ending) compares unequal to the same instant in any other
    # zone (PEP 495), so its decoded twin (a fixed offset) could never be ``==`` to it.
    return moment.utcoffset() == moment.replace(fold=1 - moment.fold).utcoffset()


aware_datetimes = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
                               timezones=zones, allow_imaginary=False).filter(_unambiguous)
INT64 = (-(2**63), 2**63 - 1)


def _constraints(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(_constraints(list(item.metadata)))
        elif isinstance(item, annotated_types.Ge):
            found["ge"] = item.ge
        elif isinstance(item, annotated_types.Gt):
            found["gt"] = item.gt
        elif isinstance(item, annotated_types.Le):
            found["le"] = item.le
        elif isinstance(item, annotated_types.Lt):
            found["lt"] = item.lt
        elif isinstance(item, annotated_types.MinLen):
            found["min_length"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            found["max_length"] = item.max_length
        elif getattr(item, "decimal_places", None) is not None:
            found["decimal_places"] = item.decimal_places
    return found


def strategy_for(annotation: Any, metadata: list[Any] | None = None) -> st.SearchStrategy[Any]:
    """A strategy of valid values for a pydantic field annotation (with its constraints)."""
    limits = _constraints(metadata or [])
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return strategy_for(base, [*(metadata or []), *extra])
    if origin in (Union, types.UnionType):
        return st.one_of(*(st.none() if a is type(None) else strategy_for(a, metadata)
                           for a in get_args(annotation)))
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin is tuple:
        args = get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy_for(args[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy_for(a) for a in args))
    if origin is dict:
        key, value = get_args(annotation)
        return st.dictionaries(strategy_for(key), strategy_for(value), max_size=3)
    if annotation is AwareDatetime:
        return aware_datetimes
    if not isinstance(annotation, type):
        raise TypeError(f"no strategy for the annotation {annotation!r}")
    if issubclass(annotation, Enum):
        return st.sampled_from(annotation)
    if issubclass(annotation, BaseModel):
        return model_of(annotation)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        low = limits.get("ge", limits.get("gt", INT64[0] - 1) + 1)
        high = limits.get("le", limits.get("lt", INT64[1] + 1) - 1)
        return st.integers(max(low, INT64[0]), min(high, INT64[1]))
    if annotation is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if annotation is Decimal:
        places = limits.get("decimal_places")
        return st.decimals(min_value=limits.get("ge", -(10**6)), max_value=10**6,
                           places=places, allow_nan=False, allow_infinity=False)
    if annotation is str:
        return st.text(st.characters(exclude_categories=["Cs"]),
                       min_size=limits.get("min_length", 0),
                       max_size=min(limits.get("max_length", 12), 12))
    if annotation is uuid.UUID:
        return st.uuids()
    if annotation is datetime:
        return aware_datetimes
    if annotation is date:
        return st.dates()
    raise TypeError(f"no strategy for the type {annotation!r}")


def model_of(cls: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Valid instances of ``cls``, every field drawn (defaults included) from its constraints."""
    return st.builds(cls, **{name: strategy_for(info.annotation, list(info.metadata))
                             for name, info in cls.model_fields.items()})


#: Fields derived from others, which field-by-field drawing cannot hit by chance.
_DERIVED: dict[str, Any] = {
    "ConfigVersionRecorded": lambda fields: {**fields,
                                             "config_version": config_version_of(fields["content"])},
}


def event_of(name: str) -> st.SearchStrategy[Event]:
    cls = Event.registry[name]
    derive = _DERIVED.get(name)
    if derive is None:
        return model_of(cls)
    fields = st.fixed_dictionaries({n: strategy_for(info.annotation, list(info.metadata))
                                    for n, info in cls.model_fields.items()})
    return fields.map(lambda drawn: cls(**derive(drawn)))


#: Any event of any registered type.
any_event = st.sampled_from(sorted(Event.registry)).flatmap(event_of)
