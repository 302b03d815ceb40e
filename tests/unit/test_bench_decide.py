"""The decision benchmark runs and reports what PRODUCT.md promises (bench, backend, ratio...)."""

from __future__ import annotations

import orjson
import pytest

from bench import decide


def test_one_cycle_reports_its_figures_and_the_same_run_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    assert decide.main(["--cycles", "1"]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert (result["bench"], result["backend"], result["cities"]) == ("decide", "pure", 10)
    assert result["ladders"] == 44 and result["markets"] == 272
    assert result["decisions_per_cycle"] == 2 * result["ladders"]  # taker and maker
    assert result["cycle_ms_median"] > result["baseline_parse_ms_median"] > 0
    assert result["decide_only_ms_median"] > 0  # (timings are noisy; no ordering asserted)
    assert result["ratio"] > 1
