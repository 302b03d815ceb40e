"""Re-deriving decisions from their recorded inputs, byte for byte.

A ``DecisionMade`` names every input it used: the market snapshot, the weather snapshot and (for a
monthly ladder) the CLI report by event id, the learned model state by id, the configuration by
version, and it carries the part of the portfolio it saw by value. ``replay`` loads those inputs
from the ledger, runs ``domain.decision.decide`` on them (the same pure code the handler ran: no
network, no clock but the inputs' own), picks the strategy's decision, and compares its canonical
bytes with the stored record's. Any difference is a mismatch, shown field by field.

Finding inputs: they are always recorded before the decisions that use them. ``InputIndex`` reads
the log forward once, keeping for every input the position it is stored at and, for the newest few
of each stream, the raw record itself; an input no longer in memory is fetched by its position.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from adapters.kalshi.snapshots import ladder_stream
from adapters.nws.snapshots import weather_stream
from domain.config import ConfigError, MilkbotConfig, parse_config
from domain.decision import DecisionInputs, Portfolio, decide
from domain.events import (
    ClimateReportRecorded,
    ConfigVersionRecorded,
    DecisionMade,
    Event,
    MarketSnapshotted,
    ModelStateRecorded,
    WeatherSnapshotted,
)
from domain.strategies import RestingOrder
from eventstore.codec import encode, recorded_at_of
from eventstore.errors import CorruptEvent
from eventstore.store import EventStore, StoredRecord

INPUT_TYPES: tuple[type[Event], ...] = (MarketSnapshotted, WeatherSnapshotted, ClimateReportRecorded,
                                         ModelStateRecorded, ConfigVersionRecorded)
INPUT_TOPICS = tuple(t.topic() for t in INPUT_TYPES)
DECISION_TOPIC = DecisionMade.topic()
#: Raw records kept in memory per stream (a decision uses its stream's newest inputs).
KEEP_PER_STREAM = 3
_EVENT_ID = b'{"event_id":"'


def event_id_of(record: StoredRecord) -> str:
    """A record's event id without decoding it (``encode`` writes ``event_id`` first)."""
    if record.data.startswith(_EVENT_ID):
        return record.data[len(_EVENT_ID):len(_EVENT_ID) + 36].decode()
    return str(record.decode().event_id)


@dataclass(frozen=True, slots=True)
class Replayed:
    """One decision replayed: ``ok`` when the bytes are the same."""

    decision_id: uuid.UUID
    position: int
    recorded: bytes
    replayed: bytes | None
    #: Why it could not be replayed (an input missing or unreadable), or None.
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.recorded == self.replayed

    def differences(self) -> list[str]:
        """The top-level fields that differ, each with both values (compact JSON)."""
        if self.problem is not None:
            return [self.problem]
        if self.replayed is None or self.ok:
            return []
        before, after = orjson.loads(self.recorded), orjson.loads(self.replayed)
        return [f"{name}: recorded {_short(before.get(name))} / replayed {_short(after.get(name))}"
                for name in dict.fromkeys([*before, *after]) if before.get(name) != after.get(name)]


def _short(value: Any, limit: int = 300) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= limit else text[:limit] + "..."


class InputIndex:
    """Every decision input of the log read so far: where it is, and the newest ones at hand."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._positions: dict[str, int] = {}
        self._recent: dict[str, deque[StoredRecord]] = {}
        self._by_id: dict[str, StoredRecord] = {}
        self._decoded: OrderedDict[str, Event] = OrderedDict()
        self._configs: dict[str, MilkbotConfig | str] = {}

    def add(self, record: StoredRecord) -> None:
        event_id = event_id_of(record)
        self._positions[event_id] = record.position
        kept = self._recent.setdefault(record.stream, deque())
        if len(kept) == KEEP_PER_STREAM:
            del self._by_id[event_id_of(kept.popleft())]
        kept.append(record)
        self._by_id[event_id] = record

    def get(self, event_id: uuid.UUID, kind: type[Event]) -> Event:
        key = str(event_id)
        event = self._decoded.get(key)
        if event is None:
            record = self._by_id.get(key) or self._fetch(key)
            event = record.decode()
            self._decoded[key] = event
            if len(self._decoded) > 256:
                self._decoded.popitem(last=False)
        if not isinstance(event, kind):
            raise LookupError(f"input {key} is a {type(event).__name__}, not a {kind.__name__}")
        return event

    def _fetch(self, key: str) -> StoredRecord:
        position = self._positions.get(key)
        if position is None:
            raise LookupError(f"input {key} is not in the ledger before the decision")
        records = self._store.read_records(position - 1, 1)
        if not records or records[0].position != position:
            raise LookupError(f"input {key} is gone from position {position}")
        return records[0]

    def config(self, version: str) -> MilkbotConfig:
        """The configuration recorded under ``version`` (parsed once)."""
        known = self._configs.get(version)
        if known is None:
            recorded = self._store.read_stream(f"config:{version}")
            if not recorded or not isinstance(recorded[0], ConfigVersionRecorded):
                known = f"config version {version[:12]} was never recorded"
            else:
                try:
                    known = parse_config(recorded[0].content, source=f"config {version[:12]}")[0]
                except ConfigError as e:
                    known = f"config version {version[:12]} no longer parses: {e}"
            self._configs[version] = known
        if isinstance(known, str):
            raise LookupError(known)
        return known


def replay(record: StoredRecord, inputs: InputIndex) -> Replayed:
    """Re-derive one stored ``DecisionMade`` from its recorded inputs."""
    try:
        recorded = record.decode()
    except CorruptEvent as e:
        return Replayed(uuid.UUID(int=0), record.position, record.data, None, f"unreadable: {e}")
    assert isinstance(recorded, DecisionMade)
    try:
        decision_inputs = inputs_of(recorded, inputs)
    except (LookupError, CorruptEvent) as e:
        return Replayed(recorded.decision_id, record.position, record.data, None, f"inputs: {e}")
    again = [d for d in decide(decision_inputs) if d.strategy == recorded.strategy]
    if not again:
        return Replayed(recorded.decision_id, record.position, record.data, None,
                        f"strategy {recorded.strategy!r} is not in config {recorded.config_version[:12]}")
    return Replayed(recorded.decision_id, record.position, record.data, encode(again[0]))


def inputs_of(decision: DecisionMade, inputs: InputIndex) -> DecisionInputs:
    market = inputs.get(decision.market_snapshot_id, MarketSnapshotted)
    weather: WeatherSnapshotted | None = None
    report: ClimateReportRecorded | None = None
    for event_id in decision.weather_snapshot_ids:
        event = inputs.get(event_id, Event)
        if isinstance(event, WeatherSnapshotted):
            weather = event
        elif isinstance(event, ClimateReportRecorded):
            report = event
        else:
            raise LookupError(f"input {event_id} is a {type(event).__name__}")
    model_state = (inputs.get(decision.model_state_id, ModelStateRecorded)
                   if decision.model_state_id is not None else None)
    portfolio = Portfolio(
        positions={h.ticker: h.position for h in decision.positions},
        resting=tuple(RestingOrder(ticker=r.ticker, side=r.side, action=r.action, price=r.price,
                                   remaining=r.remaining) for r in decision.resting),
        balance=decision.balance or 0)
    assert isinstance(market, MarketSnapshotted)
    return DecisionInputs(market=market, config=inputs.config(decision.config_version),
                          config_version=decision.config_version, weather=weather, report=report,
                          model_state=model_state if isinstance(model_state, ModelStateRecorded) else None,
                          portfolio=portfolio)


def replay_all(store: EventStore, *, since: datetime | None = None,
               progress: Callable[[int], None] | None = None) -> Iterator[Replayed]:
    """Every decision of the log (recorded at or after ``since``) replayed, in log order."""
    inputs = InputIndex(store)
    for record in _inputs_and_decisions(store):
        if record.topic != DECISION_TOPIC:
            inputs.add(record)
        elif since is None or recorded_at_of(record.topic, record.data, record.position) >= since:
            yield replay(record, inputs)
            if progress is not None:
                progress(1)


def replay_one(store: EventStore, decision_id: uuid.UUID) -> list[Replayed]:
    """One decision (every record under its id: normally one) replayed. Its inputs are looked
    for in their own streams first (the ladder's, the city's weather), then in the whole log."""
    records = store.read_stream_records(f"decision:{decision_id}")
    if not records:
        raise LookupError(f"no decision {decision_id} in the ledger")
    found = []
    for record in records:
        replayed = _from_streams(store, record)
        if replayed is None or (replayed.problem or "").startswith("inputs:"):
            replayed = _from_log(store, record)
        found.append(replayed)
    return found


def _from_streams(store: EventStore, record: StoredRecord) -> Replayed | None:
    try:
        decision = record.decode()
    except CorruptEvent:
        return None
    if not isinstance(decision, DecisionMade):
        return None
    inputs = InputIndex(store)
    for stream in (ladder_stream(decision.event_ticker), weather_stream(decision.city, decision.kind)):
        for candidate in store.read_stream_records(stream):
            if candidate.position < record.position:
                inputs.add(candidate)
    return replay(record, inputs)


def _from_log(store: EventStore, target: StoredRecord) -> Replayed:
    inputs = InputIndex(store)
    for record in _inputs_and_decisions(store, stop=target.position - 1):
        if record.topic != DECISION_TOPIC:
            inputs.add(record)
    return replay(target, inputs)


def _inputs_and_decisions(store: EventStore, *, stop: int | None = None,
                          batch: int = 5_000) -> Iterator[StoredRecord]:
    after = 0
    while True:
        records = store.read_records(after, batch, stop=stop, topics=(*INPUT_TOPICS, DECISION_TOPIC))
        yield from records
        if len(records) < batch:
            return
        after = records[-1].position
