"""``replay verify`` (first part): the ledger's integrity, record by record.

Every record must decode into its event type, carry the stream and version it is stored under, and
every stream's versions must run 1, 2, 3... without a gap. A corrupt record stops the walk with an
error naming its position and type; it is never skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from eventstore.errors import CorruptEvent
from eventstore.ledger import Ledger

STREAM_GAPS_SQL = (
    "SELECT originator_id, MIN(originator_version), MAX(originator_version), COUNT(*) "
    "FROM stored_events GROUP BY originator_id "
    "HAVING MIN(originator_version) <> 1 OR MAX(originator_version) <> COUNT(*) "
    "ORDER BY originator_id LIMIT 20"
)


@dataclass
class VerifyReport:
    events: int = 0
    last_position: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_ledger(ledger: Ledger, progress: Callable[[int], None] | None = None) -> VerifyReport:
    report = VerifyReport()
    for record in ledger.store.iter_records():
        try:
            event = record.decode()
        except CorruptEvent as e:
            report.problems.append(str(e))
            return report
        if (event.stream, event.version) != (record.stream, record.version):
            report.problems.append(
                f"position {record.position} ({record.topic}) is stored as "
                f"{record.stream!r} v{record.version} but says {event.stream!r} v{event.version}")
            return report
        report.events += 1
        report.last_position = record.position
        if progress is not None:
            progress(1)
    with ledger.backend.transaction() as tx:
        for stream, first, last, count in tx.execute(STREAM_GAPS_SQL):
            report.problems.append(f"stream {stream!r} has versions {first}..{last} in {count} "
                                   "events: versions must run from 1 without gaps")
    return report
