"""A slice of the ledger as JSON lines, for an auditor to replay on another machine.

``export_slice`` writes the events recorded in a time range, plus every input a decision in it
cites from before the range (a weather snapshot, a CLI report, a model state, the configuration),
so each exported decision can be replayed from the file alone. The first line is a header; each
other line is one record: its original position, stream, version, topic and the event itself as
JSON (the stored bytes, unchanged, so an imported event is byte for byte the exported one).

``import_slice`` appends a file's events to a ledger in the file's order, checking every one
decodes as the type it claims; events the ledger already holds are skipped (imports repeat
safely). Positions are the receiving ledger's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO

import orjson

from domain.events import DecisionMade
from eventstore.chain import GENESIS, link
from eventstore.codec import decode, recorded_at_of
from eventstore.errors import CorruptEvent
from eventstore.store import EventStore, StoredRecord
from replay.decisions import DECISION_TYPE, INPUT_TYPE_NAMES, event_id_of

FORMAT = "milkbot-ledger-slice"
VERSION = 1
_EVENT_KEY = b'"event":'


class SliceError(ValueError):
    """A file that is not a ledger slice, or a line that does not hold a valid event."""


@dataclass(frozen=True)
class SliceSummary:
    events: int
    inputs_before: int
    first: int | None
    last: int | None


def export_slice(store: EventStore, out: IO[bytes], *, since: datetime | None = None,
                 until: datetime | None = None) -> SliceSummary:
    """Write the events recorded in ``[since, until)`` and the older inputs their decisions cite."""
    chosen: list[StoredRecord] = []
    for record in store.iter_records():
        at = recorded_at_of(record.topic, record.data, record.position)
        if (since is None or at >= since) and (until is None or at < until):
            chosen.append(record)
    first = chosen[0].position if chosen else None
    cited = _cited_inputs(chosen)
    kept = {event_id_of(r) for r in chosen}
    before = [r for r in _inputs_before(store, first) if event_id_of(r) in cited - kept] if first else []
    before += _configs_before(store, chosen, first)
    header = {"format": FORMAT, "version": VERSION, "since": since.isoformat() if since else None,
              "until": until.isoformat() if until else None, "events": len(chosen),
              "inputs_before": len(before)}
    out.write(orjson.dumps(header) + b"\n")
    for record in sorted({r.position: r for r in (*before, *chosen)}.values(), key=lambda r: r.position):
        out.write(orjson.dumps({"position": record.position, "stream": record.stream,
                                "version": record.version, "topic": record.topic,
                                "event": orjson.Fragment(record.data)}) + b"\n")
    return SliceSummary(events=len(chosen), inputs_before=len(before), first=first,
                        last=chosen[-1].position if chosen else None)


def _cited_inputs(records: Iterable[StoredRecord]) -> set[str]:
    cited: set[str] = set()
    for record in records:
        if record.type_name != DECISION_TYPE:
            continue
        decision = record.decode()
        assert isinstance(decision, DecisionMade)
        cited.add(str(decision.market_snapshot_id))
        cited.update(str(i) for i in decision.weather_snapshot_ids)
        if decision.model_state_id is not None:
            cited.add(str(decision.model_state_id))
    return cited


def _inputs_before(store: EventStore, first: int) -> Iterator[StoredRecord]:
    after = 0
    while True:
        records = store.read_records(after, 5_000, stop=first - 1, types=INPUT_TYPE_NAMES)
        yield from records
        if len(records) < 5_000:
            return
        after = records[-1].position


def _configs_before(store: EventStore, chosen: list[StoredRecord], first: int | None) -> list[StoredRecord]:
    versions = {d.config_version for d in (r.decode() for r in chosen if r.type_name == DECISION_TYPE)
                if isinstance(d, DecisionMade)}
    found = []
    for version in sorted(versions):
        found += [r for r in store.read_stream_records(f"config:{version}")
                  if first is None or r.position < first]
    return found


def _header(lines: Iterator[bytes]) -> dict[str, object]:
    try:
        header = orjson.loads(next(lines))
    except (StopIteration, orjson.JSONDecodeError):
        raise SliceError("not a ledger slice: the first line is not a JSON header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise SliceError(f"not a ledger slice: the header does not say format {FORMAT!r}")
    if header.get("version") != VERSION:
        raise SliceError(f"ledger slice version {header.get('version')!r} is not {VERSION}")
    return header


def slice_seals(lines: Iterable[bytes]) -> dict[int, str]:
    """The hash chain (``eventstore.chain``) recomputed over a whole-ledger export: each record's
    original position and seal, from the exact bytes it was exported with. What an auditor
    checks a published head against, whatever positions an import would give. A slice of a time
    range is refused (``SliceError``): the record before its first is not in it."""
    it = iter(lines)
    header = _header(it)
    if header.get("since") is not None or header.get("until") is not None:
        raise SliceError("only a whole-ledger export (no --since or --until) holds the chain "
                         "from its first record")
    seals: dict[int, str] = {}
    previous, last = GENESIS, 0
    for number, line in enumerate(it, start=2):
        line = line.rstrip(b"\r\n")
        if not line.strip():
            continue
        # The event is the line's last member, written as the stored bytes themselves; a quote
        # inside a JSON string is escaped, so the first bare ``"event":`` is that member's key.
        start = line.find(_EVENT_KEY)
        if start < 0 or not line.endswith(b"}"):
            raise SliceError(f"line {number}: not a slice record")
        try:
            item = orjson.loads(line)
            record = StoredRecord(int(item["position"]), str(item["stream"]),
                                  int(item["version"]), str(item["topic"]),
                                  line[start + len(_EVENT_KEY):-1])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise SliceError(f"line {number}: not a slice record ({type(e).__name__})") from None
        if record.position <= last:
            raise SliceError(f"line {number}: position {record.position} does not follow {last}")
        previous, last = link(previous, record), record.position
        seals[record.position] = previous.hex()
    return seals


def read_slice(lines: Iterable[bytes]) -> Iterator[StoredRecord]:
    """The records of a slice file, each checked to decode as its topic (``SliceError``)."""
    it = iter(lines)
    _header(it)
    for number, line in enumerate(it, start=2):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
            data = orjson.dumps(item["event"])
            record = StoredRecord(int(item["position"]), str(item["stream"]), int(item["version"]),
                                  str(item["topic"]), data)
            event = decode(record.topic, record.data, record.position)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise SliceError(f"line {number}: not a slice record ({type(e).__name__})") from None
        except CorruptEvent as e:
            raise SliceError(f"line {number}: {e}") from None
        if (event.stream, event.version) != (record.stream, record.version):
            raise SliceError(f"line {number}: the event says {event.stream!r} v{event.version}, "
                             f"the line {record.stream!r} v{record.version}")
        yield record


def import_slice(store: EventStore, lines: Iterable[bytes]) -> tuple[int, int]:
    """Append a slice's events (checked first, all of them); returns (appended, already there)."""
    records = list(read_slice(lines))
    appended = skipped = 0
    for record in records:
        result = store.append([record.decode()])
        appended += len(result.positions)
        skipped += result.duplicates
    return appended, skipped

