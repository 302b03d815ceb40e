"""A seeded, deterministic weather generator for the configured cities: the simulator's "truth".

Everything is a pure function of ``(seed, city, day)`` (and, for forecasts, the issue time): no clock,
no I/O, no global random state. Any day can be asked for in any order and gives the same answer.

The model, per city, from the config's monthly normals:

* **Temperature.** The climatological daily high and low for a day of the year interpolate the
  monthly normals (each taken at mid-month). Anomalies are AR(1) in time (``PERSISTENCE``), made
  random-access by truncating the AR sum after ``_AR_TERMS`` days (the weight left is < 1e-6). The
  high's and low's anomalies share one series and the low adds its own; their spread grows with the
  city's annual range (continental cities swing more than Miami) and is larger in winter.
* **The hourly curve.** The day's nominal low falls at 05:51 and the nominal high at 14:51 local
  standard time (METARs go out at :51), joined by half-cosines to the neighbouring days' extremes.
  Values are kept in tenths of a degree C, as the METAR T-group reports them, so the CLI's whole-°F
  maximum is exactly the rounded maximum of the hourly values: an observer sees what settles.
* **Precipitation.** A day is wet with a probability that grows with the month's normal; a wet day's
  amount is gamma distributed (shape ``_GAMMA_SHAPE``) with its mean chosen so the expected month
  total equals the normal. Some dry days report a trace.
* **Snow.** Only on a wet day whose mean temperature is at most ``_SNOW_MEAN_F`` and whose low is
  freezing, at a snow-to-liquid ratio (4..20) set per month so the expected snowfall meets the normal;
  a cool-but-not-cold wet day gives a trace at most.
* **Forecasts.** The truth plus a Gaussian error with sd ``forecast_error_sd(lead_days)`` (2.0 °F
  the same day, 2.5 °F the next, +0.5 °F per day after), drawn from ``(seed, city, issue hour,
  target day)``. Probability of precipitation is sharper the shorter the lead.

The climate day is the NWS one: local *standard* time midnight to midnight, whatever DST says.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from domain.climate_day import climate_day_of, climate_day_start
from domain.config import CityConfig

PERSISTENCE = 0.7
_AR_TERMS = 40
_GAMMA_SHAPE = 0.75
_SNOW_MEAN_F = 34.0
#: Minutes past the hour of the routine METARs (ASOS stations report at :51).
OBS_MINUTE = 51
_LOW_HOUR = 5  # the nominal low at 05:51 LST
_HIGH_HOUR = 14  # the nominal high at 14:51 LST

_WHOLE = Decimal("1")


def c_tenths_to_f(tenths_c: int) -> Decimal:
    """Tenths of a degree C to °F, exactly (no float rounding)."""
    return Decimal(tenths_c) * Decimal("0.18") + 32


def round_f(value: Decimal) -> int:
    """Whole degrees the way NWS prints them: half up."""
    return int(value.quantize(_WHOLE, rounding=ROUND_HALF_UP))


def f_to_c_tenths(value_f: float) -> int:
    return round((value_f - 32.0) / 1.8 * 10.0)


def forecast_error_sd(lead_days: int) -> float:
    """The sd (°F) of a forecast's daily high/low error, by days between issue and target."""
    if lead_days <= 0:
        return 2.0
    return 2.5 + 0.5 * (lead_days - 1)


# --- deterministic randomness --------------------------------------------------------------------

def _rng(*key: object) -> random.Random:
    digest = hashlib.blake2b(repr(key).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


@lru_cache(maxsize=65536)
def _normal(seed: int, city: str, stream: str, ordinal: int) -> float:
    return _rng(seed, city, stream, ordinal).gauss(0.0, 1.0)


def _ar1(seed: int, city: str, stream: str, ordinal: int) -> float:
    """A unit-variance AR(1) value at ``ordinal``, random-access (truncated moving-average form)."""
    scale = math.sqrt(1.0 - PERSISTENCE * PERSISTENCE)
    return scale * sum(PERSISTENCE ** k * _normal(seed, city, stream, ordinal - k) for k in range(_AR_TERMS))


# --- climatology ---------------------------------------------------------------------------------

def _interpolate_monthly(values: list[float], day: date) -> float:
    """A monthly series (January first), each value at its month's middle, linear in between."""
    days_in = calendar.monthrange(day.year, day.month)[1]
    position = day.month - 1 + (day.day - 0.5) / days_in - 0.5  # 0.0 = mid-January
    lower = math.floor(position)
    weight = position - lower
    return values[lower % 12] * (1 - weight) + values[(lower + 1) % 12] * weight


@dataclass(frozen=True)
class Climatology:
    """One city's normals as the generator uses them."""

    high_f: tuple[float, ...]
    low_f: tuple[float, ...]
    precip_in: tuple[float, ...]
    snow_in: tuple[float, ...]

    @classmethod
    def of(cls, city: CityConfig) -> Climatology:
        n = city.normals
        return cls(tuple(n.high_f), tuple(n.low_f), tuple(n.precip_in), tuple(n.snow_in))

    def normal_high(self, day: date) -> float:
        return _interpolate_monthly(list(self.high_f), day)

    def normal_low(self, day: date) -> float:
        return _interpolate_monthly(list(self.low_f), day)

    def anomaly_sd(self, day: date) -> float:
        """Day-to-day spread of the high's anomaly: wider in continental climates and in winter."""
        annual_range = max(self.high_f) - min(self.high_f)
        # +1 in the coldest month, -1 in the warmest.
        coldest = self.high_f.index(min(self.high_f))
        phase = 2 * math.pi * ((day.month - 1 - coldest) % 12) / 12
        return (2.0 + 0.11 * annual_range) * (1.0 + 0.2 * math.cos(phase))

    def snow_ratio(self, day: date) -> float:
        """Snow-to-liquid ratio on a snowy day, chosen so the month's expected snowfall meets its
        normal: normal snow / (normal precip x P(a day's mean is cold enough)), kept in 4..20."""
        month = day.month - 1
        if self.snow_in[month] <= 0 or self.precip_in[month] <= 0:
            return 10.0
        mean = (self.normal_high(day) + self.normal_low(day)) / 2
        sd = 0.9 * self.anomaly_sd(day)
        cold = 0.5 * (1 + math.erf((_SNOW_MEAN_F - mean) / (sd * math.sqrt(2))))
        return min(20.0, max(4.0, self.snow_in[month] / (self.precip_in[month] * max(cold, 1e-6))))

    def wet_probability(self, month: int) -> float:
        normal = self.precip_in[month - 1]
        return min(0.6, max(0.01, 0.6 * normal / (normal + 1.5)))


# --- the truth -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class HourlyReading:
    """One routine observation time (HH:51 LST) and the temperature then, in tenths of °C."""

    time: datetime  # aware, UTC
    tenths_c: int

    @property
    def temperature_f(self) -> Decimal:
        return c_tenths_to_f(self.tenths_c)


@dataclass(frozen=True)
class DayWeather:
    """One city's climate day as it happened: what the CLI reports and the observations show."""

    city: str
    day: date
    #: The 24 routine observations of the climate day (00:51 .. 23:51 LST).
    hourly: tuple[HourlyReading, ...]
    #: Hundredths of an inch; ``precip_trace`` when 0 but a trace fell.
    precip_hundredths: int
    precip_trace: bool
    #: Tenths of an inch; ``snow_trace`` when 0 but a trace fell.
    snow_tenths: int
    snow_trace: bool

    @property
    def max_f(self) -> int:
        """The CLI maximum: the highest hourly value, in whole °F."""
        return round_f(max(r.temperature_f for r in self.hourly))

    @property
    def min_f(self) -> int:
        return round_f(min(r.temperature_f for r in self.hourly))

    @property
    def max_reading(self) -> HourlyReading:
        return max(self.hourly, key=lambda r: (r.tenths_c, -r.time.timestamp()))

    @property
    def min_reading(self) -> HourlyReading:
        return min(self.hourly, key=lambda r: (r.tenths_c, r.time.timestamp()))

    @property
    def precip_in(self) -> float:
        return self.precip_hundredths / 100

    @property
    def snow_in(self) -> float:
        return self.snow_tenths / 10


@dataclass(frozen=True)
class DayForecast:
    """A forecast, issued at some time, of one climate day."""

    city: str
    day: date
    issued_at: datetime
    high_f: float
    low_f: float
    #: Probability of precipitation, 0..100, a multiple of 10 as NWS words it.
    pop_percent: int
    precip_in: float
    snow_in: float


class WeatherGenerator:
    """The weather of the configured cities, reproducible from ``seed``."""

    def __init__(self, cities: tuple[CityConfig, ...] | list[CityConfig], *, seed: int = 0) -> None:
        self.seed = seed
        self._cities = {c.code: c for c in cities}
        self._climate = {c.code: Climatology.of(c) for c in cities}
        self._day_cache: dict[tuple[str, date], DayWeather] = {}
        self._extremes_cache: dict[tuple[str, date], tuple[float, float]] = {}

    @property
    def city_codes(self) -> tuple[str, ...]:
        return tuple(self._cities)

    def city(self, code: str) -> CityConfig:
        return self._cities[code]

    def climatology(self, code: str) -> Climatology:
        return self._climate[code]

    # -- temperatures ------------------------------------------------------------------------

    def nominal_extremes(self, code: str, day: date) -> tuple[float, float]:
        """The day's nominal (high, low) in °F before the hourly curve is sampled."""
        key = (code, day)
        cached = self._extremes_cache.get(key)
        if cached is not None:
            return cached
        clim = self._climate[code]
        sd = clim.anomaly_sd(day)
        shared = _ar1(self.seed, code, "temp", day.toordinal())
        own = _ar1(self.seed, code, "low", day.toordinal())
        high = clim.normal_high(day) + sd * shared
        # Nights vary a little less than afternoons, and only partly with them.
        low = clim.normal_low(day) + 0.85 * sd * (0.7 * shared + 0.714 * own)
        # Clouds and rain hold a wet afternoon down and its night up; dry days make up the
        # difference so the month's means stay on the normals.
        p_wet = clim.wet_probability(day.month)
        wet = self._wet_amount(code, day) > 0
        high += -2.0 * (1 - p_wet) if wet else 2.0 * p_wet
        low += 1.0 * (1 - p_wet) if wet else -1.0 * p_wet
        spread = max(3.0, 0.25 * (clim.normal_high(day) - clim.normal_low(day)))
        result = (high, min(low, high - spread))
        if len(self._extremes_cache) > 50_000:
            self._extremes_cache.clear()
        self._extremes_cache[key] = result
        return result

    def temperature_f_at(self, code: str, instant: datetime) -> float:
        """The continuous temperature curve (°F) at any instant."""
        zone = self._cities[code].timezone
        day = climate_day_of(zone, instant)
        start = climate_day_start(zone, day)
        hours = (instant - start).total_seconds() / 3600 - OBS_MINUTE / 60  # 0.0 = 00:51 LST
        high, low = self.nominal_extremes(code, day)
        prev_high = self.nominal_extremes(code, day - timedelta(days=1))[0]
        next_low = self.nominal_extremes(code, day + timedelta(days=1))[1]
        return _diurnal(prev_high, low, high, next_low, hours)

    def reading_at(self, code: str, instant: datetime) -> HourlyReading:
        return HourlyReading(instant.astimezone(UTC), f_to_c_tenths(self.temperature_f_at(code, instant)))

    # -- precipitation -----------------------------------------------------------------------

    def _wet_amount(self, code: str, day: date) -> float:
        """The day's liquid precipitation (inches, unrounded); 0.0 on a dry day."""
        clim = self._climate[code]
        rng = _rng(self.seed, code, "precip", day.toordinal())
        p_wet = clim.wet_probability(day.month)
        if rng.random() >= p_wet:
            return 0.0
        days_in = calendar.monthrange(day.year, day.month)[1]
        mean_wet = clim.precip_in[day.month - 1] / (days_in * p_wet)
        return rng.gammavariate(_GAMMA_SHAPE, mean_wet / _GAMMA_SHAPE)

    def day(self, code: str, day: date) -> DayWeather:
        """The whole climate day ``day`` for city ``code``."""
        key = (code, day)
        cached = self._day_cache.get(key)
        if cached is not None:
            return cached
        zone = self._cities[code].timezone
        start = climate_day_start(zone, day)
        hourly = tuple(self.reading_at(code, start + timedelta(hours=h, minutes=OBS_MINUTE))
                       for h in range(24))
        amount = self._wet_amount(code, day)
        hundredths = round(amount * 100)
        trace_rng = _rng(self.seed, code, "trace", day.toordinal())
        trace = hundredths == 0 and (amount > 0 or trace_rng.random() < 0.3 * self._climate[code]
                                     .wet_probability(day.month))
        snow_tenths, snow_trace = 0, False
        if amount > 0 or trace:
            high, low = self.nominal_extremes(code, day)
            mean = (high + low) / 2
            if mean <= _SNOW_MEAN_F and low <= 32.0:
                ratio = self._climate[code].snow_ratio(day)
                snow_tenths = round(amount * ratio * 10)
                snow_trace = snow_tenths == 0
            elif low <= 33.0 and high <= 42.0:
                snow_trace = True  # a few flakes mixed in, nothing that sticks
        weather = DayWeather(code, day, hourly, hundredths, trace, snow_tenths, snow_trace)
        if len(self._day_cache) > 20_000:
            self._day_cache.clear()
        self._day_cache[key] = weather
        return weather

    def month_to_date(self, code: str, day: date) -> tuple[int, bool, int, bool]:
        """(precip hundredths, any trace, snow tenths, any trace) from the 1st through ``day``."""
        days = [self.day(code, day.replace(day=d)) for d in range(1, day.day + 1)]
        return (sum(d.precip_hundredths for d in days), any(d.precip_trace for d in days),
                sum(d.snow_tenths for d in days), any(d.snow_trace for d in days))

    # -- forecasts ---------------------------------------------------------------------------

    def forecast(self, code: str, issued_at: datetime, target: date) -> DayForecast:
        """The forecast of ``target`` issued at ``issued_at`` (deterministic per issue hour)."""
        zone = self._cities[code].timezone
        issue_hour = issued_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        lead = (target - climate_day_of(zone, issue_hour)).days
        sd = forecast_error_sd(lead)
        rng = _rng(self.seed, code, "forecast", issue_hour.isoformat(), target.toordinal())
        truth = self.day(code, target)
        error_high = rng.gauss(0.0, sd)
        error_low = 0.6 * error_high + 0.8 * rng.gauss(0.0, sd)
        high = truth.max_f + error_high
        low = min(truth.min_f + error_low, high - 2.0)
        clim = self._climate[code]
        skill = max(0.0, 0.85 - 0.1 * max(lead, 0))
        wet = truth.precip_hundredths > 0
        base = clim.wet_probability(target.month)
        pop = base + skill * ((1.0 if wet else 0.0) - base) + rng.gauss(0.0, 0.1)
        pop_percent = round(min(1.0, max(0.0, pop)) * 10) * 10
        qpf = truth.precip_in * math.exp(rng.gauss(0.0, 0.3 + 0.1 * max(lead, 0))) if wet else 0.0
        snow_ratio = truth.snow_in / truth.precip_in if truth.precip_hundredths else 0.0
        return DayForecast(code, target, issue_hour, high, low, pop_percent, qpf, qpf * snow_ratio)

    def forecast_temperature_f_at(self, code: str, issued_at: datetime, instant: datetime) -> float:
        """The hourly forecast curve: the diurnal shape through the forecast's highs and lows."""
        zone = self._cities[code].timezone
        day = climate_day_of(zone, instant)
        start = climate_day_start(zone, day)
        hours = (instant - start).total_seconds() / 3600 - OBS_MINUTE / 60
        today = self.forecast(code, issued_at, day)
        prev = self.forecast(code, issued_at, day - timedelta(days=1))
        nxt = self.forecast(code, issued_at, day + timedelta(days=1))
        return _diurnal(prev.high_f, today.low_f, today.high_f, nxt.low_f, hours)


def _diurnal(prev_high: float, low: float, high: float, next_low: float, hours: float) -> float:
    """The temperature ``hours`` after 00:51 LST: yesterday's high (14:51) down to today's low
    (05:51), up to today's high (14:51), down towards tomorrow's low."""
    night = _LOW_HOUR + 24 - _HIGH_HOUR  # hours from a high to the next low
    if hours < _LOW_HOUR:
        return _cosine(prev_high, low, (hours + 24 - _HIGH_HOUR) / night)
    if hours < _HIGH_HOUR:
        return _cosine(low, high, (hours - _LOW_HOUR) / (_HIGH_HOUR - _LOW_HOUR))
    return _cosine(high, next_low, (hours - _HIGH_HOUR) / night)


def _cosine(start: float, end: float, fraction: float) -> float:
    """A half-cosine from ``start`` (fraction 0) to ``end`` (fraction 1): flat at both ends."""
    fraction = min(1.0, max(0.0, fraction))
    return start + (end - start) * (1 - math.cos(math.pi * fraction)) / 2
