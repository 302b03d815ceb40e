"""The bodies of ``/points/{lat},{lon}`` and ``/gridpoints/{wfo}/{x},{y}/stations``: where a point's
forecasts live and which stations observe it."""

from __future__ import annotations

from typing import Any

from adapters.nws.simulator.geojson import _CONTEXT, _qv
from adapters.nws.simulator.world import Grid, Station, World


def point_json(world: World, grid: Grid, root: str) -> dict[str, Any]:
    city = world.city(grid.city)
    lat_text = f"{round(grid.latitude, 4):.4f}".rstrip("0").rstrip(".")
    lon_text = f"{round(grid.longitude, 4):.4f}".rstrip("0").rstrip(".")
    here = f"{root}/points/{lat_text},{lon_text}"
    state = {"NYC": "NY", "CHI": "IL", "MIA": "FL", "AUS": "TX", "LAX": "CA", "DEN": "CO", "PHL": "PA",
             "HOU": "TX", "SEA": "WA", "DCA": "DC"}.get(city.code, "US")
    return {
        "@context": _CONTEXT,
        "id": here,
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [grid.longitude, grid.latitude]},
        "properties": {
            "@id": here,
            "@type": "wx:Point",
            "cwa": grid.wfo,
            "forecastOffice": f"{root}/offices/{grid.wfo}",
            "gridId": grid.wfo,
            "gridX": grid.x,
            "gridY": grid.y,
            "forecast": f"{root}{grid.path}/forecast",
            "forecastHourly": f"{root}{grid.path}/forecast/hourly",
            "forecastGridData": f"{root}{grid.path}",
            "observationStations": f"{root}{grid.path}/stations",
            "relativeLocation": {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [grid.longitude, grid.latitude]},
                "properties": {
                    "city": city.name, "state": state,
                    "distance": _qv(0.0, "wmoUnit:m"),
                    "bearing": _qv(0, "wmoUnit:degree_(angle)"),
                },
            },
            "forecastZone": f"{root}/zones/forecast/{state}Z001",
            "county": f"{root}/zones/county/{state}C001",
            "fireWeatherZone": f"{root}/zones/fire/{state}Z001",
            "timeZone": city.timezone,
            "radarStation": f"K{grid.wfo}",
        },
    }


def stations_json(world: World, stations: list[Station], root: str) -> dict[str, Any]:
    features = []
    for st in stations:
        city = world.city(st.city)
        features.append({
            "id": f"{root}/stations/{st.id}",
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [st.longitude, st.latitude]},
            "properties": {
                "@id": f"{root}/stations/{st.id}",
                "@type": "wx:ObservationStation",
                "elevation": _qv(10.0, "wmoUnit:m"),
                "stationIdentifier": st.id,
                "name": st.name,
                "timeZone": city.timezone,
                "forecast": f"{root}/zones/forecast/{st.city}Z001",
                "county": f"{root}/zones/county/{st.city}C001",
                "fireWeatherZone": f"{root}/zones/fire/{st.city}Z001",
            },
        })
    return {"@context": _CONTEXT, "type": "FeatureCollection", "features": features,
            "observationStations": [f"{root}/stations/{st.id}" for st in stations]}
