from __future__ import annotations

from pathlib import Path

import pytest

from adapters.nws.errors import MalformedPayload
from adapters.nws.normals import load_daily_normals, load_monthly_normals
from tests import paths

FIXTURES = paths.FIXTURES / "normals"
CENTRAL_PARK = FIXTURES / "ncei-daily-normals-1991-2020-USW00094728.csv"
PHILADELPHIA = FIXTURES / "ncei-monthly-normals-1991-2020-USW00013739.csv"


def test_central_park_daily_normals() -> None:
    normals = load_daily_normals(CENTRAL_PARK)
    assert normals.station.id == "USW00094728"
    assert normals.station.name == "NEW YORK CNTRL PK TWR, NY US"
    assert len(normals.days) == 366
    new_year = normals.on(1, 1)
    assert (new_year.tmax_f, new_year.tmin_f, new_year.tmax_stddev_f) == (40.6, 29.8, 10.0)
    assert normals.on(7, 1).tmax_f == 83.8
    # -9999 (missing) becomes None, never zero.
    assert normals.on(2, 29).precip_month_to_date_in is None
    assert normals.on(6, 30).snow_month_to_date_in == 0.0


def test_philadelphia_monthly_normals_become_the_configured_climatology() -> None:
    normals = load_monthly_normals(PHILADELPHIA)
    assert normals.station.name == "PHILADELPHIA INTL AP, PA US"
    january, july = normals.months[1], normals.months[7]
    assert (january.tmax_f, january.tmin_f, january.precip_in, january.snow_in) == (
        41.3, 26.0, 3.13, 7.1)
    assert (july.tmax_f, july.precip_in, july.snow_in) == (87.8, 4.38, 0.0)
    climate = normals.as_climate_normals()
    assert climate.high_f[0] == 41.3 and climate.snow_in[11] == 3.5
    assert "USW00013739" in climate.source


def test_the_wrong_kind_of_file_is_refused_by_column(tmp_path: Path) -> None:
    with pytest.raises(MalformedPayload, match="MLY-TMAX-NORMAL"):
        load_monthly_normals(CENTRAL_PARK)
    truncated = tmp_path / "short.csv"
    truncated.write_text("\n".join(PHILADELPHIA.read_text().splitlines()[:5]))
    with pytest.raises(MalformedPayload, match="12 months"):
        load_monthly_normals(truncated)
    with pytest.raises(MalformedPayload, match="cannot read"):
        load_daily_normals(tmp_path / "absent.csv")
