"""The observation bodies: hourly METARs at HH:51 UTC, their raw text and decoded properties, from
the generator's readings."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.nws.simulator.geojson import _iso, _qv, _sky
from adapters.nws.simulator.weather import OBS_MINUTE
from adapters.nws.simulator.world import Station, World
from domain.climate_day import climate_day_of


def _observation_times(start: datetime, end: datetime) -> Iterator[datetime]:
    """The routine METAR times (HH:51 UTC; every US zone's offset is whole hours) in [start, end]."""
    t = start.astimezone(UTC).replace(minute=OBS_MINUTE, second=0, microsecond=0)
    if t < start:
        t += timedelta(hours=1)
    while t <= end:
        yield t
        t += timedelta(hours=1)


def _metar_temp(tenths: int) -> str:
    whole = math.floor(abs(tenths) / 10 + 0.5)
    return f"M{whole:02d}" if tenths < 0 and whole else f"{whole:02d}"


def _t_digits(tenths: int) -> str:
    return f"{1 if tenths < 0 else 0}{abs(tenths):03d}"


def observation_json(world: World, station: Station, t: datetime, root: str) -> dict[str, Any]:
    weather = world.weather
    city = world.city(station.city)
    reading = weather.reading_at(station.city, t)
    tenths = reading.tenths_c
    dew = tenths - 60 - (_hash_small(station.id, t) % 40)
    day = weather.day(station.city, climate_day_of(city.timezone, t))
    # Rain falls evenly over a wet day in this model; a METAR reports the last hour's share.
    hourly_precip_in = day.precip_hundredths / 100 / 24
    remarks = ["RMK", "AO2", f"SLP{150 + _hash_small(station.id, t) % 100:03d}"]
    if hourly_precip_in > 0:
        remarks.append(f"P{round(hourly_precip_in * 100):04d}")
    if t.hour in (23, 5, 11, 17):  # the reports closing a synoptic 6-hour window
        window = [weather.reading_at(station.city, t - timedelta(hours=h)).tenths_c for h in range(6)]
        remarks += [f"1{_t_digits(max(window))}", f"2{_t_digits(min(window))}"]
    remarks.append(f"T{_t_digits(tenths)}{_t_digits(dew)}")
    pop = 80 if day.precip_hundredths else 10
    _, text, sky = _sky(pop)
    raw = (f"{station.id} {t:%d%H%M}Z {_wind(station.id, t)}KT 10SM {sky} "
           f"{_metar_temp(tenths)}/{_metar_temp(dew)} A{2990 + _hash_small(station.id, t) % 40} "
           + " ".join(remarks))
    here = f"{root}/stations/{station.id}/observations/{_iso(t)}"
    temp_c = tenths / 10
    dew_c = dew / 10
    rh = 100 * math.exp(17.625 * dew_c / (243.04 + dew_c)) / math.exp(17.625 * temp_c / (243.04 + temp_c))
    return {
        "id": here,
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [station.longitude, station.latitude]},
        "properties": {
            "@id": here,
            "@type": "wx:ObservationStation",
            "elevation": _qv(10, "wmoUnit:m"),
            "station": f"{root}/stations/{station.id}",
            "timestamp": _iso(t),
            "rawMessage": raw,
            "textDescription": text,
            "icon": f"https://api.weather.gov/icons/land/day/{_sky(pop)[0]}?size=medium",
            "presentWeather": [],
            "temperature": _qv(temp_c, "wmoUnit:degC", "V"),
            "dewpoint": _qv(dew_c, "wmoUnit:degC", "V"),
            "windDirection": _qv(180, "wmoUnit:degree_(angle)", "V"),
            "windSpeed": _qv(14.76, "wmoUnit:km_h-1", "V"),
            "windGust": _qv(None, "wmoUnit:km_h-1", "Z"),
            "barometricPressure": _qv(101600, "wmoUnit:Pa", "V"),
            "seaLevelPressure": _qv(101600, "wmoUnit:Pa", "V"),
            "visibility": _qv(16090, "wmoUnit:m", "C"),
            "maxTemperatureLast24Hours": _qv(None, "wmoUnit:degC"),
            "minTemperatureLast24Hours": _qv(None, "wmoUnit:degC"),
            "precipitationLastHour": _qv(round(hourly_precip_in * 0.0254, 6), "wmoUnit:m", "C"),
            "precipitationLast3Hours": _qv(None, "wmoUnit:m", "Z"),
            "precipitationLast6Hours": _qv(None, "wmoUnit:m", "Z"),
            "relativeHumidity": _qv(round(rh, 4), "wmoUnit:percent", "V"),
            "windChill": _qv(None, "wmoUnit:degC", "V"),
            "heatIndex": _qv(None, "wmoUnit:degC", "V"),
            "cloudLayers": [{"base": _qv(7620, "wmoUnit:m"), "amount": sky[:3]}],
        },
    }


def _wind(station: str, t: datetime) -> str:
    h = _hash_small(station, t, "wind")
    return f"{(h % 36 + 1) * 10:03d}{h % 15 + 2:02d}"


def _hash_small(*key: object) -> int:
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=4).digest(), "big")
