"""``/points/{lat},{lon}`` and observation-station collections: where a place's forecast grid and
stations are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.nws.wire.json_fields import (
    _feature_properties,
    _grid_index,
    _optional_str,
    _properties,
    _required_str,
)


@dataclass(frozen=True)
class PointInfo:
    """What ``/points/{lat},{lon}`` says about a place: its forecast grid and where to look next."""

    grid_id: str
    grid_x: int
    grid_y: int
    forecast_url: str
    forecast_hourly_url: str
    forecast_grid_data_url: str
    observation_stations_url: str
    time_zone: str | None = None
    cwa: str | None = None
    forecast_zone_url: str | None = None


@dataclass(frozen=True)
class StationInfo:
    identifier: str
    name: str | None
    time_zone: str | None


def parse_point(payload: Any, *, source: str = "/points") -> PointInfo:
    """``/points/{lat},{lon}``: the forecast grid and the URLs for a place."""
    props = _properties(payload, f"points payload {source}")
    where = f"points payload {source}"
    return PointInfo(
        grid_id=_required_str(props, "gridId", where),
        grid_x=_grid_index(props, "gridX", where),
        grid_y=_grid_index(props, "gridY", where),
        forecast_url=_required_str(props, "forecast", where),
        forecast_hourly_url=_required_str(props, "forecastHourly", where),
        forecast_grid_data_url=_required_str(props, "forecastGridData", where),
        observation_stations_url=_required_str(props, "observationStations", where),
        time_zone=_optional_str(props, "timeZone", where),
        cwa=_optional_str(props, "cwa", where),
        forecast_zone_url=_optional_str(props, "forecastZone", where),
    )


def parse_stations(payload: Any, *, source: str = "stations") -> tuple[StationInfo, ...]:
    """An observation-station collection (``/gridpoints/{wfo}/{x},{y}/stations``), in API order."""
    where = f"station collection {source}"
    stations = []
    for index, props in enumerate(_feature_properties(payload, where)):
        item = f"{where} feature {index}"
        stations.append(StationInfo(identifier=_required_str(props, "stationIdentifier", item),
                                    name=_optional_str(props, "name", item),
                                    time_zone=_optional_str(props, "timeZone", item)))
    return tuple(stations)
