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

One ``decide`` gives every configured strategy's decision, and the handler records them together,
so consecutive decisions citing the same inputs share one ``decide`` run: the index keeps the last
run's inputs and result until the next input arrives (``decide`` is a pure function of them).
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from adapters.kalshi.snapshots import ladder_stream
from adapters.nws.snapshots import weather_stream
from domain.config import ConfigError, MilkbotConfig, parse_config
from domain.decision import DECISION_CODE, DecisionInputs, Portfolio, decide
from domain.events import (
    Action,
    ClimateReportRecorded,
    ConfigVersionRecorded,
    DecisionMade,
    Event,
    MarketSnapshotted,
    ModelStateRecorded,
    Side,
    WeatherSnapshotted,
)
from domain.strategies import RestingOrder
from eventstore.codec import encode, recorded_at_of
from eventstore.errors import CorruptEvent
from eventstore.store import EventStore, StoredRecord

INPUT_TYPES: tuple[type[Event], ...] = (MarketSnapshotted, WeatherSnapshotted, ClimateReportRecorded,
                                         ModelStateRecorded, ConfigVersionRecorded)
INPUT_TYPE_NAMES = tuple(t.__name__ for t in INPUT_TYPES)
DECISION_TYPE = DecisionMade.__name__
#: Raw records kept in memory per stream (a decision uses its stream's newest inputs).
KEEP_PER_STREAM = 3
#: Logs of at least this many records are replayed on every core (see ``replay_all``).
PARALLEL_FROM = 100_000
#: Decisions per task handed to a worker process.
_CHUNK = 64
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
    #: The version of the decision code that made it, when it is not this code's
    #: (``domain.decision.DECISION_CODE``): this code does not re-derive it, a release of that
    #: version does. Neither ok nor a mismatch.
    made_by: int | None = None

    @property
    def ok(self) -> bool:
        return self.made_by is None and self.problem is None and self.recorded == self.replayed

    def differences(self) -> list[str]:
        """The top-level fields that differ, each with both values (compact JSON)."""
        if self.made_by is not None:
            return [f"made by decision code v{self.made_by}; this Milkbot's is v{DECISION_CODE}: "
                    f"a release of v{self.made_by} re-derives it"]
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


class Inputs:
    """What replaying decisions reads: inputs by event id, configurations by version. Decoded
    inputs and parsed configurations are kept, and so is the last ``decide`` run."""

    def __init__(self, configs: dict[str, MilkbotConfig | str] | None = None) -> None:
        self._decoded: OrderedDict[str, Event] = OrderedDict()
        self._configs: dict[str, MilkbotConfig | str] = {} if configs is None else configs
        self._last_decided: tuple[Hashable, tuple[DecisionMade, ...]] | None = None

    def record(self, key: str) -> StoredRecord:
        """The raw record of input ``key`` (an event id); ``LookupError`` if there is none."""
        raise NotImplementedError

    def config_content(self, version: str) -> str | None:
        """The text recorded as configuration ``version``, None if it never was."""
        raise NotImplementedError

    def get(self, event_id: uuid.UUID | str, kind: type[Event]) -> Event:
        key = str(event_id)
        event = self._decoded.get(key)
        if event is None:
            event = self.record(key).decode()
            self._decoded[key] = event
            if len(self._decoded) > 256:
                self._decoded.popitem(last=False)
        if not isinstance(event, kind):
            raise LookupError(f"input {key} is a {type(event).__name__}, not a {kind.__name__}")
        return event

    def decide(self, key: Hashable, inputs: DecisionInputs) -> tuple[DecisionMade, ...]:
        """``decide(inputs)``, run once for consecutive decisions citing the same ``key`` (every
        input by id or by value) with no input recorded between them."""
        last = self._last_decided
        if last is not None and last[0] == key:
            return last[1]
        made = decide(inputs)
        self._last_decided = (key, made)
        return made

    def config(self, version: str) -> MilkbotConfig:
        """The configuration recorded under ``version`` (parsed once)."""
        known = self._configs.get(version)
        if known is None:
            content = self.config_content(version)
            if content is None:
                known = f"config version {version[:12]} was never recorded"
            else:
                try:
                    known = parse_config(content, source=f"config {version[:12]}")[0]
                except ConfigError as e:
                    known = f"config version {version[:12]} no longer parses: {e}"
            self._configs[version] = known
        if isinstance(known, str):
            raise LookupError(known)
        return known


class InputIndex(Inputs):
    """Every decision input of the log read so far: where it is, and the newest ones at hand."""

    def __init__(self, store: EventStore) -> None:
        super().__init__()
        self._store = store
        self._positions: dict[str, int] = {}
        self._recent: dict[str, deque[StoredRecord]] = {}
        self._by_id: dict[str, StoredRecord] = {}
        self._contents: dict[str, str | None] = {}

    def add(self, record: StoredRecord) -> None:
        # A new record may stand for an input id already seen: no decision before it is reused.
        self._last_decided = None
        event_id = event_id_of(record)
        self._positions[event_id] = record.position
        kept = self._recent.setdefault(record.stream, deque())
        if len(kept) == KEEP_PER_STREAM:
            del self._by_id[event_id_of(kept.popleft())]
        kept.append(record)
        self._by_id[event_id] = record

    def record(self, key: str) -> StoredRecord:
        return self._by_id.get(key) or self._fetch(key)

    def _fetch(self, key: str) -> StoredRecord:
        position = self._positions.get(key)
        if position is None:
            raise LookupError(f"input {key} is not in the ledger before the decision")
        records = self._store.read_records(position - 1, 1)
        if not records or records[0].position != position:
            raise LookupError(f"input {key} is gone from position {position}")
        return records[0]

    def config_content(self, version: str) -> str | None:
        if version not in self._contents:
            recorded = self._store.read_stream(f"config:{version}")
            self._contents[version] = (recorded[0].content if recorded and
                                       isinstance(recorded[0], ConfigVersionRecorded) else None)
        return self._contents[version]


def replay(record: StoredRecord, inputs: Inputs) -> Replayed:
    """Re-derive one stored ``DecisionMade`` from its recorded inputs."""
    same = _replay_canonical(record, inputs)
    if same is not None:
        return same
    try:
        recorded = record.decode()
    except CorruptEvent as e:
        return Replayed(uuid.UUID(int=0), record.position, record.data, None, f"unreadable: {e}")
    assert isinstance(recorded, DecisionMade)
    if recorded.decision_code != DECISION_CODE:
        return Replayed(recorded.decision_id, record.position, record.data, None,
                        made_by=recorded.decision_code)
    try:
        decision_inputs = inputs_of(recorded, inputs)
    except (LookupError, CorruptEvent) as e:
        return Replayed(recorded.decision_id, record.position, record.data, None, f"inputs: {e}")
    again = [d for d in inputs.decide(_inputs_key(recorded), decision_inputs)
             if d.strategy == recorded.strategy]
    if not again:
        return Replayed(recorded.decision_id, record.position, record.data, None,
                        f"strategy {recorded.strategy!r} is not in config {recorded.config_version[:12]}")
    return Replayed(recorded.decision_id, record.position, record.data, encode(again[0]))


def _replay_canonical(record: StoredRecord, inputs: Inputs) -> Replayed | None:
    """The common case, without validating the recorded decision: its inputs are read from its
    plain JSON, and the replayed bytes must equal the record's. Those bytes are then canonical
    (``encode`` of a valid event), so the validated record holds these very values and the full
    path would build the same inputs and find the same bytes. Anything else (a difference, a
    missing input, a record that is not canonical JSON) is None: the full path decides, and
    explains."""
    try:
        fields = orjson.loads(record.data)
        weather, report = _weather_inputs(fields["weather_snapshot_ids"], inputs)
        market = inputs.get(fields["market_snapshot_id"], MarketSnapshotted)
        state_id = fields["model_state_id"]
        model_state = inputs.get(state_id, ModelStateRecorded) if state_id is not None else None
        resting = tuple((r["ticker"], Side(r["side"]), Action(r["action"]), r["price"], r["remaining"])
                        for r in fields["resting"])
        positions = tuple((h["ticker"], h["position"]) for h in fields["positions"])
        balance = fields["balance"] or 0
        version = fields["config_version"]
        assert isinstance(market, MarketSnapshotted)
        assert model_state is None or isinstance(model_state, ModelStateRecorded)
        decision_inputs = DecisionInputs(
            market=market, config=inputs.config(version), config_version=version, weather=weather,
            report=report, model_state=model_state, portfolio=Portfolio(
                positions=dict(positions), balance=balance,
                resting=tuple(RestingOrder(ticker=t, side=side, action=action, price=price,
                                           remaining=remaining)
                              for t, side, action, price, remaining in resting)))
        key = ("canonical", fields["market_snapshot_id"], tuple(fields["weather_snapshot_ids"]),
               state_id, version, balance, positions, resting)
        strategy = fields["strategy"]
        again = next((d for d in inputs.decide(key, decision_inputs) if d.strategy == strategy), None)
        replayed = encode(again) if again is not None else None
        if replayed != record.data:
            return None
        return Replayed(uuid.UUID(fields["decision_id"]), record.position, record.data, replayed)
    except Exception:  # whatever went wrong, the full path meets it again and says what
        return None


def _weather_inputs(ids: Iterable[Any], inputs: Inputs) -> (
    tuple[WeatherSnapshotted | None, ClimateReportRecorded | None]
):
    """The weather snapshot and climate report a decision cites (``LookupError`` for an id that
    is neither)."""
    weather: WeatherSnapshotted | None = None
    report: ClimateReportRecorded | None = None
    for event_id in ids:
        event = inputs.get(event_id, Event)
        if isinstance(event, WeatherSnapshotted):
            weather = event
        elif isinstance(event, ClimateReportRecorded):
            report = event
        else:
            raise LookupError(f"input {event_id} is a {type(event).__name__}")
    return weather, report


def inputs_of(decision: DecisionMade, inputs: Inputs) -> DecisionInputs:
    market = inputs.get(decision.market_snapshot_id, MarketSnapshotted)
    weather, report = _weather_inputs(decision.weather_snapshot_ids, inputs)
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


def _inputs_key(decision: DecisionMade) -> Hashable:
    """Everything ``inputs_of`` builds the decision's inputs from (ids, the config version, the
    portfolio's values)."""
    return (decision.market_snapshot_id, decision.weather_snapshot_ids, decision.model_state_id,
            decision.config_version, decision.balance or 0,
            tuple((h.ticker, h.position) for h in decision.positions),
            tuple((r.ticker, r.side, r.action, r.price, r.remaining) for r in decision.resting))


def replay_all(store: EventStore, *, since: datetime | None = None,
               progress: Callable[[int], None] | None = None,
               workers: int | None = None) -> Iterator[Replayed]:
    """Every decision of the log (recorded at or after ``since``) replayed, in log order.

    ``workers`` processes replay them (default: one per core for a log of ``PARALLEL_FROM``
    records or more, where the processes pay for their start; otherwise this process alone).
    Either way each decision is replayed from the same input records, with the same results."""
    if workers is None:
        workers = (os.cpu_count() or 1) if store.max_position() >= PARALLEL_FROM else 1
    results = _replay_here(store, since) if workers <= 1 else _replay_in_workers(store, since, workers)
    for result in results:
        yield result
        if progress is not None:
            progress(1)


def _replay_here(store: EventStore, since: datetime | None) -> Iterator[Replayed]:
    inputs = InputIndex(store)
    for record in _inputs_and_decisions(store):
        if record.type_name != DECISION_TYPE:
            inputs.add(record)
        elif _selected(record, since):
            yield replay(record, inputs)


def _selected(record: StoredRecord, since: datetime | None) -> bool:
    return since is None or recorded_at_of(record.topic, record.data, record.position) >= since


#: Consecutive decisions with no input recorded between them (they see the same inputs), with
#: the input records and configuration texts they cite.
_Group = tuple[list[StoredRecord], dict[str, StoredRecord], dict[str, str | None]]


def _replay_in_workers(store: EventStore, since: datetime | None, workers: int) -> Iterator[Replayed]:
    """This process reads the log and finds each decision's input records; the workers decode,
    decide, encode and compare, in chunks of groups. A decision whose inputs cannot all be found
    (or that does not decode) is replayed here, where the index can say what is wrong."""
    inputs = InputIndex(store)
    pending: deque[Future[list[Replayed]] | list[Replayed]] = deque()
    chunk: list[_Group] = []
    group: _Group | None = None
    in_chunk = 0
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
    try:
        for record in _inputs_and_decisions(store):
            if record.type_name != DECISION_TYPE:
                inputs.add(record)
                group = None
                continue
            if not _selected(record, since):
                continue
            cited = _cited(record, inputs)
            if cited is None:
                if chunk:
                    pending.append(pool.submit(_replay_groups, chunk))
                    chunk, in_chunk = [], 0
                pending.append([replay(record, inputs)])
                group = None
            else:
                if group is None:
                    if in_chunk >= _CHUNK:  # (chunks end between groups: a group shares a decide)
                        pending.append(pool.submit(_replay_groups, chunk))
                        chunk, in_chunk = [], 0
                    group = ([], {}, {})
                    chunk.append(group)
                group[0].append(record)
                group[1].update(cited[0])
                group[2].update(cited[1])
                in_chunk += 1
            while len(pending) > 2 * workers:
                yield from _results(pending.popleft())
        if chunk:
            pending.append(pool.submit(_replay_groups, chunk))
        while pending:
            yield from _results(pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _results(done: Future[list[Replayed]] | list[Replayed]) -> list[Replayed]:
    return done if isinstance(done, list) else done.result()


def _cited(record: StoredRecord, inputs: InputIndex) -> tuple[dict[str, StoredRecord],
                                                               dict[str, str | None]] | None:
    """The input records and configuration text a decision cites, as the index has them now.
    The ids are read from the plain JSON (as ``UUID`` values, so in the form the decoded event
    gives), the decision decoded only when that fails."""
    try:
        fields = orjson.loads(record.data)
        state_id = fields["model_state_id"]
        ids = [fields["market_snapshot_id"], *fields["weather_snapshot_ids"],
               *([] if state_id is None else [state_id])]
        keys = [str(uuid.UUID(i)) for i in ids]
        version = fields["config_version"]
        if not isinstance(version, str):
            raise TypeError(version)
    except Exception:  # not plain: the decoded event says what it cites, if it decodes
        try:
            decision = record.decode()
        except CorruptEvent:
            return None
        assert isinstance(decision, DecisionMade)
        keys = [str(i) for i in (decision.market_snapshot_id, *decision.weather_snapshot_ids,
                                 *([] if decision.model_state_id is None else [decision.model_state_id]))]
        version = decision.config_version
    try:
        return {key: inputs.record(key) for key in keys}, {version: inputs.config_content(version)}
    except (CorruptEvent, LookupError):
        return None


class _Cited(Inputs):
    """A group's inputs as the index gave them (in a worker process)."""

    def __init__(self, records: dict[str, StoredRecord], contents: dict[str, str | None],
                 configs: dict[str, MilkbotConfig | str]) -> None:
        super().__init__(configs)
        self._records = records
        self._contents = contents

    def record(self, key: str) -> StoredRecord:
        try:
            return self._records[key]
        except KeyError:
            raise LookupError(f"input {key} is not among those cited") from None

    def config_content(self, version: str) -> str | None:
        try:
            return self._contents[version]
        except KeyError:
            raise LookupError(f"config version {version[:12]} is not among those cited") from None


#: A worker's parsed configurations (a version's text is the same in every group).
_WORKER_CONFIGS: dict[str, MilkbotConfig | str] = {}


def _replay_groups(groups: list[_Group]) -> list[Replayed]:
    """(In a worker.) Every decision of ``groups`` replayed."""
    results: list[Replayed] = []
    for decisions, records, contents in groups:
        inputs = _Cited(records, contents, _WORKER_CONFIGS)
        results.extend(replay(record, inputs) for record in decisions)
    return results


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
        if record.type_name != DECISION_TYPE:
            inputs.add(record)
    return replay(target, inputs)


def _inputs_and_decisions(store: EventStore, *, stop: int | None = None) -> Iterator[StoredRecord]:
    return store.iter_records(stop=stop, types=(*INPUT_TYPE_NAMES, DECISION_TYPE))
