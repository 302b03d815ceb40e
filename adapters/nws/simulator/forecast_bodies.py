"""The forecast bodies: the twelve-hour and hourly ``/forecast`` periods and the raw ``/gridpoints``
layers, all from the generator's forecast as issued at ``issued``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.nws.simulator.geojson import _FORECAST_CONTEXT, _GRID_CONTEXT, _iso, _qv, _sky, _square
from adapters.nws.simulator.world import Grid, World
from domain.climate_day import climate_day_of, climate_day_start


def forecast_json(world: World, grid: Grid, issued: datetime, generated: datetime, *,
                  hourly: bool) -> dict[str, Any]:
    weather = world.weather
    city = world.city(grid.city)
    zone = ZoneInfo(city.timezone)
    periods: list[dict[str, Any]] = []
    if hourly:
        first = generated.replace(minute=0, second=0, microsecond=0)
        for n in range(156):
            start = (first + timedelta(hours=n)).astimezone(zone)
            day = climate_day_of(city.timezone, start)
            fc = weather.forecast(grid.city, issued, day)
            temp = round(weather.forecast_temperature_f_at(grid.city, issued, start))
            periods.append(_period(n + 1, "", start, start + timedelta(hours=1), 6 <= start.hour < 18,
                                   temp, fc.pop_percent, "small", detailed=""))
        generator = "HourlyForecastGenerator"
        valid_hours = 156
    else:
        local = generated.astimezone(zone)
        daytime = 6 <= local.hour < 18
        boundary = local.replace(hour=18 if daytime else 6, minute=0, second=0, microsecond=0)
        if not daytime and local.hour >= 18:
            boundary += timedelta(days=1)
        start = local.replace(minute=0, second=0, microsecond=0)
        for n in range(14):
            end = boundary
            day = climate_day_of(city.timezone, end - timedelta(hours=1))
            fc = weather.forecast(grid.city, issued, day)
            if daytime:
                temp = round(fc.high_f)
                name = ("This Afternoon" if start.hour >= 12 else "Today") if n == 0 else f"{start:%A}"
                words = f"High near {temp}."
            else:
                fc = weather.forecast(grid.city, issued, climate_day_of(city.timezone, end))
                temp = round(fc.low_f)
                name = ("Tonight" if start.hour >= 18 or start.hour < 6 else "Overnight") if n == 0 \
                    else f"{start:%A} Night"
                words = f"Low around {temp}."
            _, short, _ = _sky(fc.pop_percent)
            chance = f" Chance of precipitation is {fc.pop_percent}%." if fc.pop_percent >= 20 else ""
            periods.append(_period(n + 1, name, start, end, daytime, temp, fc.pop_percent, "medium",
                                   detailed=f"{short}, with a {words[0].lower()}{words[1:]}{chance}"))
            start, daytime = end, not daytime
            boundary = end + timedelta(hours=12)
        generator = "BaselineForecastGenerator"
        valid_hours = 7 * 24
    return {
        "@context": _FORECAST_CONTEXT,
        "type": "Feature",
        "geometry": _square(grid.latitude, grid.longitude),
        "properties": {
            "units": "us",
            "forecastGenerator": generator,
            "generatedAt": _iso(generated),
            "updateTime": _iso(issued),
            "validTimes": f"{_iso(issued)}/P{valid_hours // 24}DT{valid_hours % 24}H",
            "elevation": _qv(10.0, "wmoUnit:m"),
            "periods": periods,
        },
    }


def _period(number: int, name: str, start: datetime, end: datetime, daytime: bool, temp: int, pop: int,
            size: str, *, detailed: str) -> dict[str, Any]:
    icon, short, _ = _sky(pop)
    when = "day" if daytime else "night"
    return {
        "number": number,
        "name": name,
        "startTime": start.isoformat(),
        "endTime": end.isoformat(),
        "isDaytime": daytime,
        "temperature": temp,
        "temperatureUnit": "F",
        "temperatureTrend": None,
        "probabilityOfPrecipitation": _qv(pop, "wmoUnit:percent"),
        "dewpoint": _qv(round((temp - 10 - 32) / 1.8, 2), "wmoUnit:degC"),
        "relativeHumidity": _qv(min(100, 50 + pop // 2), "wmoUnit:percent"),
        "windSpeed": "5 to 10 mph" if size == "medium" else "5 mph",
        "windDirection": "S",
        "icon": f"https://api.weather.gov/icons/land/{when}/{icon}?size={size}",
        "shortForecast": short,
        "detailedForecast": detailed,
    }


def _runs(values: Sequence[tuple[datetime, float | None]], step: timedelta) -> list[dict[str, Any]]:
    """Merge equal consecutive values into ``start/PTnH`` intervals, as the real grid does."""
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(values):
        start, value = values[i]
        j = i + 1
        while j < len(values) and values[j][1] == value:
            j += 1
        out.append({"validTime": f"{_iso(start)}/{_duration(step * (j - i))}", "value": value})
        i = j
    return out


def _duration(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    return f"P{days}DT{hours}H" if days and hours else f"P{days}D" if days else f"PT{hours}H"


def gridpoint_json(world: World, grid: Grid, issued: datetime, root: str) -> dict[str, Any]:
    weather = world.weather
    city = world.city(grid.city)
    hours = [issued + timedelta(hours=h) for h in range(7 * 24)]
    temps = [(t, round((round(weather.forecast_temperature_f_at(grid.city, issued, t)) - 32) / 1.8, 4))
             for t in hours]
    first_day = climate_day_of(city.timezone, issued)
    days = [first_day + timedelta(days=d) for d in range(8)]
    highs: list[dict[str, Any]] = []
    lows: list[dict[str, Any]] = []
    pops: list[tuple[datetime, float | None]] = []
    qpf: list[tuple[datetime, float | None]] = []
    snow: list[tuple[datetime, float | None]] = []
    for day in days:
        fc = weather.forecast(grid.city, issued, day)
        start = climate_day_start(city.timezone, day)
        if start + timedelta(hours=19) > issued:
            highs.append({"validTime": f"{_iso(start + timedelta(hours=7))}/PT13H",
                          "value": round((round(fc.high_f) - 32) / 1.8, 4)})
        if start + timedelta(hours=8) > issued:
            lows.append({"validTime": f"{_iso(start - timedelta(hours=5))}/PT13H",
                         "value": round((round(fc.low_f) - 32) / 1.8, 4)})
        for block in range(4):
            t = start + timedelta(hours=6 * block)
            if t < issued or t >= hours[-1]:
                continue
            pops.append((t, float(fc.pop_percent)))
            qpf.append((t, round(fc.precip_in * 25.4 / 4, 2)))
            snow.append((t, round(fc.snow_in * 25.4 / 4, 1)))
    return {
        "@context": _GRID_CONTEXT,
        "id": f"{root}{grid.path}",
        "type": "Feature",
        "geometry": _square(grid.latitude, grid.longitude),
        "properties": {
            "@id": f"{root}{grid.path}",
            "@type": "wx:Gridpoint",
            "updateTime": _iso(issued),
            "validTimes": f"{_iso(issued)}/P7D",
            "elevation": _qv(10.0, "wmoUnit:m"),
            "forecastOffice": f"{root}/offices/{grid.wfo}",
            "gridId": grid.wfo,
            "gridX": grid.x,
            "gridY": grid.y,
            "temperature": {"uom": "wmoUnit:degC", "values": _runs(temps, timedelta(hours=1))},
            "maxTemperature": {"uom": "wmoUnit:degC", "values": highs},
            "minTemperature": {"uom": "wmoUnit:degC", "values": lows},
            "probabilityOfPrecipitation": {"uom": "wmoUnit:percent",
                                           "values": _runs(pops, timedelta(hours=6))},
            "quantitativePrecipitation": {"uom": "wmoUnit:mm", "values": _runs(qpf, timedelta(hours=6))},
            "snowfallAmount": {"uom": "wmoUnit:mm", "values": _runs(snow, timedelta(hours=6))},
        },
    }
