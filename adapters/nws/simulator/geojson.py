"""What the geo+json bodies share: the JSON-LD contexts, quantitative values, UTC timestamps, the grid
square's polygon, and the sky wording the forecasts and the observations agree on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_CONTEXT: list[Any] = [
    "https://geojson.org/geojson-ld/geojson-context.jsonld",
    {"@version": "1.1", "wx": "https://api.weather.gov/ontology#", "s": "https://schema.org/",
     "geo": "http://www.opengis.net/ont/geosparql#", "unit": "http://codes.wmo.int/common/unit/",
     "@vocab": "https://api.weather.gov/ontology#"},
]
_FORECAST_CONTEXT: list[Any] = [
    "https://geojson.org/geojson-ld/geojson-context.jsonld",
    {"@version": "1.1", "wx": "https://api.weather.gov/ontology#",
     "geo": "http://www.opengis.net/ont/geosparql#", "unit": "http://codes.wmo.int/common/unit/",
     "@vocab": "https://api.weather.gov/ontology#"},
]
_GRID_CONTEXT: list[Any] = [
    "https://geojson.org/geojson-ld/geojson-context.jsonld",
    {"@version": "1.1", "wmoUnit": "https://codes.wmo.int/common/unit/",
     "nwsUnit": "https://api.weather.gov/ontology/unit/"},
]


def _qv(value: float | None, unit: str, qc: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"unitCode": unit, "value": value}
    if qc is not None:
        out["qualityControl"] = qc
    return out


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _square(lat: float, lon: float) -> dict[str, Any]:
    d = 0.0125
    ring = [[lon - d, lat + d], [lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
            [lon - d, lat + d]]
    return {"type": "Polygon", "coordinates": [[[round(a, 7), round(b, 7)] for a, b in ring]]}



def _sky(pop: int) -> tuple[str, str, str]:
    """(icon word, short forecast, METAR sky) for a probability of precipitation."""
    if pop >= 60:
        return "rain", "Rain Likely", "OVC012"
    if pop >= 30:
        return "rain_showers", "Chance Rain Showers", "BKN030"
    if pop >= 20:
        return "bkn", "Mostly Cloudy", "BKN050"
    return "few", "Mostly Sunny", "FEW250"
