"""A ledger slice exported as JSON lines carries what its decisions cite, so an auditor replays
them from the file alone; a damaged file is refused whole, naming the line."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest

from domain.events import DecisionMade
from eventstore import Ledger, open_ledger
from eventstore.chain import seal
from replay.decisions import replay_all
from replay.exchange import SliceError, export_slice, import_slice, slice_seals
from tests.builders import T0
from tests.integration.test_replay_decisions import record_decisions


def test_a_slice_replays_on_another_ledger(ledger: Ledger, tmp_path: Path) -> None:
    decisions = record_decisions(ledger)
    later = [d for d in decisions if d.recorded_at >= T0 + timedelta(minutes=2)]
    out = io.BytesIO()
    summary = export_slice(ledger.store, out, since=T0 + timedelta(minutes=2))
    assert summary.events == 1 + len(later)  # the second ladder's snapshot and its decisions
    assert summary.inputs_before == 2  # the weather they cite, and the configuration

    with open_ledger(f"sqlite:///{tmp_path / 'auditor.sqlite'}") as auditor:
        lines = out.getvalue().splitlines()
        assert import_slice(auditor.store, lines) == (summary.events + summary.inputs_before, 0)
        assert import_slice(auditor.store, lines) == (0, summary.events + summary.inputs_before)
        replayed = list(replay_all(auditor.store))
        assert [r.decision_id for r in replayed] == [d.decision_id for d in later]
        assert all(r.ok for r in replayed)
        copied = [e for e in (r.event for r in auditor.store.iter_events()) if isinstance(e, DecisionMade)]
        assert copied == later


def test_a_damaged_slice_is_refused_whole(ledger: Ledger, tmp_path: Path) -> None:
    record_decisions(ledger)
    out = io.BytesIO()
    export_slice(ledger.store, out)
    lines = out.getvalue().splitlines()
    lines[3] = lines[3].replace(b'"version":', b'"versioned":', 1)
    with open_ledger(f"sqlite:///{tmp_path / 'auditor.sqlite'}") as auditor:
        with pytest.raises(SliceError, match="line 4"):
            import_slice(auditor.store, lines)
        assert auditor.store.max_position() == 0
        with pytest.raises(SliceError, match="not a ledger slice"):
            import_slice(auditor.store, [b'{"format": "something else"}'])


def test_a_whole_export_carries_the_ledgers_own_chain(ledger: Ledger) -> None:
    """Recomputed from the exported bytes and original positions, the chain is the ledger's own
    seal for seal, on either backend (a PostgreSQL ledger's positions may skip numbers, which
    an import would not keep)."""
    record_decisions(ledger)
    seal(ledger)
    out = io.BytesIO()
    export_slice(ledger.store, out)
    with ledger.backend.snapshot() as tx:
        sealed = dict(tx.execute("SELECT position, hash FROM ledger_chain"))
    assert slice_seals(out.getvalue().splitlines()) == sealed

    part = io.BytesIO()
    export_slice(ledger.store, part, since=T0 + timedelta(minutes=2))
    with pytest.raises(SliceError, match="whole-ledger export"):
        slice_seals(part.getvalue().splitlines())
    swapped = out.getvalue().splitlines()
    swapped[1], swapped[2] = swapped[2], swapped[1]
    with pytest.raises(SliceError, match="line 3: position"):
        slice_seals(swapped)
