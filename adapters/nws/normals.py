"""NCEI 1991-2020 climate normals files (daily and monthly, CSV), the climatological baseline.

NCEI's special values: -9999 missing, -8888 not computed, -6666 undefined (all ``None`` here) and
-7777, a non-zero amount that rounds to zero (a trace: 0 here, as the CLI counts a trace). Only the
columns Milkbot uses are read; a file without them is refused with the column's name.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.nws.errors import MalformedPayload
from domain.climatology import ClimateNormals

_MISSING = {-9999.0, -8888.0, -6666.0}
_TRACE = -7777.0


@dataclass(frozen=True)
class Station:
    id: str
    name: str
    latitude: float
    longitude: float
    elevation_m: float


@dataclass(frozen=True)
class DailyNormal:
    month: int
    day: int
    tmax_f: float | None
    tmin_f: float | None
    tmax_stddev_f: float | None
    #: Normal precipitation and snowfall accumulated from the 1st of the month to this day.
    precip_month_to_date_in: float | None
    snow_month_to_date_in: float | None
    #: Share of days (percent) with at least 0.01 in of precipitation.
    precip_chance_pct: float | None


@dataclass(frozen=True)
class MonthlyNormal:
    month: int
    tmax_f: float | None
    tmin_f: float | None
    tmax_stddev_f: float | None
    precip_in: float | None
    snow_in: float | None
    #: Average number of days with at least 0.01 in of precipitation.
    precip_days: float | None


@dataclass(frozen=True)
class DailyNormals:
    station: Station
    days: Mapping[tuple[int, int], DailyNormal]

    def on(self, month: int, day: int) -> DailyNormal:
        return self.days[(month, day)]


@dataclass(frozen=True)
class MonthlyNormals:
    station: Station
    months: Mapping[int, MonthlyNormal]

    def as_climate_normals(self) -> ClimateNormals:
        """The configuration's monthly climatology (zeros where NCEI has no snow normal)."""
        ordered = [self.months[m] for m in range(1, 13)]

        def series(values: Iterable[float | None], what: str) -> list[float]:
            out = list(values)
            if any(v is None for v in out):
                raise MalformedPayload(f"{self.station.id}: the {what} normals have gaps")
            return [float(v) for v in out if v is not None]

        return ClimateNormals(
            source=f"NCEI 1991-2020 monthly normals, {self.station.id} {self.station.name}",
            high_f=series((m.tmax_f for m in ordered), "maximum temperature"),
            low_f=series((m.tmin_f for m in ordered), "minimum temperature"),
            precip_in=series((m.precip_in for m in ordered), "precipitation"),
            snow_in=[m.snow_in or 0.0 for m in ordered],
        )


def load_daily_normals(path: Path) -> DailyNormals:
    rows = _rows(path, ("DLY-TMAX-NORMAL", "DLY-TMIN-NORMAL", "DLY-TMAX-STDDEV",
                        "MTD-PRCP-NORMAL", "MTD-SNOW-NORMAL", "DLY-PRCP-PCTALL-GE001HI"))
    days = {
        (int(r["month"]), int(r["day"])): DailyNormal(
            month=int(r["month"]), day=int(r["day"]),
            tmax_f=_value(r, "DLY-TMAX-NORMAL"), tmin_f=_value(r, "DLY-TMIN-NORMAL"),
            tmax_stddev_f=_value(r, "DLY-TMAX-STDDEV"),
            precip_month_to_date_in=_value(r, "MTD-PRCP-NORMAL"),
            snow_month_to_date_in=_value(r, "MTD-SNOW-NORMAL"),
            precip_chance_pct=_value(r, "DLY-PRCP-PCTALL-GE001HI"),
        )
        for r in rows
    }
    if len(days) not in (365, 366):
        raise MalformedPayload(f"{path.name}: {len(days)} days of normals, expected 365 or 366")
    return DailyNormals(station=_station(rows, path), days=days)


def load_monthly_normals(path: Path) -> MonthlyNormals:
    rows = _rows(path, ("MLY-TMAX-NORMAL", "MLY-TMIN-NORMAL", "MLY-TMAX-STDDEV",
                        "MLY-PRCP-NORMAL", "MLY-SNOW-NORMAL", "MLY-PRCP-AVGNDS-GE001HI"))
    months = {
        int(r["month"]): MonthlyNormal(
            month=int(r["month"]), tmax_f=_value(r, "MLY-TMAX-NORMAL"),
            tmin_f=_value(r, "MLY-TMIN-NORMAL"), tmax_stddev_f=_value(r, "MLY-TMAX-STDDEV"),
            precip_in=_value(r, "MLY-PRCP-NORMAL"), snow_in=_value(r, "MLY-SNOW-NORMAL"),
            precip_days=_value(r, "MLY-PRCP-AVGNDS-GE001HI"),
        )
        for r in rows
    }
    if sorted(months) != list(range(1, 13)):
        raise MalformedPayload(f"{path.name}: expected the 12 months, found {sorted(months)}")
    return MonthlyNormals(station=_station(rows, path), months=months)


def _rows(path: Path, needed: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ("STATION", "NAME", "month", "day", *needed)
                       if c not in (reader.fieldnames or [])]
            if missing:
                raise MalformedPayload(f"{path.name} is not an NCEI normals file: no column "
                                       f"{', '.join(missing)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise MalformedPayload(f"cannot read normals {path}: {e}") from None
    if not rows:
        raise MalformedPayload(f"{path.name} holds no normals")
    if len({r["STATION"] for r in rows}) != 1:
        raise MalformedPayload(f"{path.name} mixes several stations")
    return rows


def _station(rows: list[dict[str, str]], path: Path) -> Station:
    first = rows[0]
    try:
        return Station(id=first["STATION"].strip(), name=first["NAME"].strip(),
                       latitude=float(first["LATITUDE"]), longitude=float(first["LONGITUDE"]),
                       elevation_m=float(first["ELEVATION"]))
    except (KeyError, ValueError) as e:
        raise MalformedPayload(f"{path.name}: bad station header: {e}") from None


def _value(row: dict[str, str], column: str) -> float | None:
    text = row[column].strip()
    try:
        value = float(text)
    except ValueError:
        raise MalformedPayload(f"{column} of {row.get('DATE', '?')} is {text!r}, not a number"
                               ) from None
    if value in _MISSING:
        return None
    if value == _TRACE:
        return 0.0
    return value
