"""CLI (Daily Climate Report) products in the real text layout, rendered from the generator's truth.

Two kinds per CLI site and climate day, as NWS issues them:

* the **final** report, issued the next morning (about 01:xx local standard time) for YESTERDAY;
* the **preliminary** one, issued in the late afternoon (about 17:2x LST) for TODAY, headed
  ``VALID TODAY AS OF 0500 PM LOCAL TIME.`` and holding the values observed up to 17:00 LST.

The layout follows the recorded products in ``shared/fixtures/nws/cli`` (CLINYC, CLIDCA, CLIFFC): WMO
heading, AWIPS id, issuing office, issuance line in local civil time (``116 AM EST THU JAN 3 2013``),
the ``...THE <STATION> CLIMATE SUMMARY FOR <DATE>...`` line and the fixed-column values table. Record
columns are ``MM`` (the simulator keeps no records); LAST YEAR is the generator's own value a year
earlier. Pure functions: the caller passes the generator and the day.
"""

from __future__ import annotations

import calendar
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from adapters.nws.simulator.weather import (
    DayWeather,
    WeatherGenerator,
    c_tenths_to_f,
    round_f,
)
from domain.climate_day import climate_day_start, standard_offset
from domain.config import CityConfig

PRELIMINARY_AS_OF_HOUR = 17  # LST: "VALID TODAY AS OF 0500 PM LOCAL TIME"


@dataclass(frozen=True)
class Office:
    """An NWS forecast office: its id, the name CLI products give it, and its WMO CLI heading."""

    wfo: str
    name: str
    wmo_heading: str


#: The offices of the shipped cities. A city not listed gets a made-up office (see ``office_of``).
OFFICES: dict[str, Office] = {
    "NYC": Office("OKX", "NEW YORK NY", "CDUS41"),
    "CHI": Office("LOT", "CHICAGO IL", "CDUS43"),
    "MIA": Office("MFL", "MIAMI FL", "CDUS42"),
    "AUS": Office("EWX", "AUSTIN/SAN ANTONIO TX", "CDUS44"),
    "LAX": Office("LOX", "LOS ANGELES/OXNARD CA", "CDUS46"),
    "DEN": Office("BOU", "DENVER/BOULDER CO", "CDUS45"),
    "PHL": Office("PHI", "MOUNT HOLLY NJ", "CDUS41"),
    "HOU": Office("HGX", "HOUSTON/GALVESTON TX", "CDUS44"),
    "SEA": Office("SEW", "SEATTLE WA", "CDUS46"),
    "DCA": Office("LWX", "BALTIMORE MD/WASHINGTON DC", "CDUS41"),
}

#: The station name a CLI summary line gives each site.
STATION_NAMES: dict[str, str] = {
    "NYC": "CENTRAL PARK NY", "MDW": "CHICAGO-MIDWAY", "ORD": "CHICAGO-O'HARE", "MIA": "MIAMI FL",
    "AUS": "AUSTIN BERGSTROM", "LAX": "LOS ANGELES AIRPORT", "DEN": "DENVER", "PHL": "PHILADELPHIA PA",
    "HOU": "HOUSTON/HOBBY AIRPORT", "SEA": "SEATTLE", "DCA": "WASHINGTON NATIONAL DC",
}


def office_of(city: CityConfig) -> Office:
    return OFFICES.get(city.code) or Office("LWX", f"{city.name.upper()}", "CDUS41")


@dataclass(frozen=True)
class CliProduct:
    """One issued CLI product: what ``/products`` lists and ``/products/{id}`` returns."""

    id: str
    site: str
    city: str
    day: date
    preliminary: bool
    issuance_time: datetime  # aware UTC
    office: Office


def final_issuance(city: CityConfig, site: str, day: date, seed: int) -> datetime:
    """When the final report for ``day`` goes out: 01:xx LST the next morning."""
    minute = 5 + _digest_int(seed, site, day.isoformat(), "final") % 50
    return climate_day_start(city.timezone, day + timedelta(days=1)) + timedelta(hours=1, minutes=minute)


def preliminary_issuance(city: CityConfig, site: str, day: date, seed: int) -> datetime:
    minute = 15 + _digest_int(seed, site, day.isoformat(), "prelim") % 30
    return climate_day_start(city.timezone, day) + timedelta(hours=PRELIMINARY_AS_OF_HOUR, minutes=minute)


def products_for(city: CityConfig, site: str, day: date, seed: int) -> tuple[CliProduct, CliProduct]:
    """The preliminary and the final product of one site and climate day."""
    office = office_of(city)
    return tuple(  # type: ignore[return-value]
        CliProduct(id=product_id(seed, site, day, preliminary), site=site, city=city.code, day=day,
                   preliminary=preliminary,
                   issuance_time=(preliminary_issuance if preliminary else final_issuance)(
                       city, site, day, seed),
                   office=office)
        for preliminary in (True, False))


def product_id(seed: int, site: str, day: date, preliminary: bool) -> str:
    """A stable UUID, like the real API's product ids."""
    name = f"milkbot-sim:{seed}:CLI{site}:{day.isoformat()}:{'prelim' if preliminary else 'final'}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


# --- the text ------------------------------------------------------------------------------------

_RULE = "." * 66
_TABLE_HEAD = (
    "WEATHER ITEM   OBSERVED TIME   RECORD YEAR NORMAL DEPARTURE LAST\n"
    "                VALUE   (LST)  VALUE       VALUE  FROM      YEAR\n"
    "                                                  NORMAL\n"
)


def render_cli(product: CliProduct, weather: WeatherGenerator) -> str:
    """The product's text, as ``productText`` carries it."""
    city = weather.city(product.city)
    zone = ZoneInfo(city.timezone)
    issued_local = product.issuance_time.astimezone(zone)
    period = "TODAY" if product.preliminary else "YESTERDAY"
    day = product.day
    truth = weather.day(product.city, day)
    observed = _observed(truth, weather, product.preliminary)
    lst = standard_offset(city.timezone, day)
    max_at, min_at = observed.max_time.astimezone(lst), observed.min_time.astimezone(lst)
    last_year = weather.day(product.city, _same_day_last_year(day))
    clim = weather.climatology(product.city)
    normal_high = round_f(Decimal(str(clim.normal_high(day))))
    normal_low = round_f(Decimal(str(clim.normal_low(day))))
    days_in = calendar.monthrange(day.year, day.month)[1]
    normal_day_precip = Decimal(str(clim.precip_in[day.month - 1])) / days_in
    normal_day_snow = Decimal(str(clim.snow_in[day.month - 1])) / days_in

    lines: list[str] = [
        f"{_digest_int(product.id) % 900 + 100} ",
        f"{product.office.wmo_heading} K{product.office.wfo} {product.issuance_time:%d%H%M}",
        f"CLI{product.site}",
        "",
        "CLIMATE REPORT",
        f"NATIONAL WEATHER SERVICE {product.office.name}",
        _issuance_line(issued_local),
        "",
        "...................................",
        "",
        f"...THE {STATION_NAMES.get(product.site, product.site)} CLIMATE SUMMARY FOR "
        f"{calendar.month_name[day.month].upper()} {day.day} {day.year}...",
    ]
    if product.preliminary:
        lines.append(f"VALID TODAY AS OF {_hhmm(PRELIMINARY_AS_OF_HOUR)} LOCAL TIME.")
    lines += [
        "",
        "CLIMATE NORMAL PERIOD 1991 TO 2020",
        f"CLIMATE RECORD PERIOD 1900 TO {day.year}",
        "",
        "",
        _TABLE_HEAD + _RULE,
        "TEMPERATURE (F)",
        f" {period}",
        _temp_row("  MAXIMUM", observed.max_f, max_at, normal_high, last_year.max_f),
        _temp_row("  MINIMUM", observed.min_f, min_at, normal_low, last_year.min_f),
        _temp_row("  AVERAGE", observed.average_f, None, round_f(Decimal(normal_high + normal_low) / 2),
                  round_f(Decimal(last_year.max_f + last_year.min_f) / 2)),
        "",
        "PRECIPITATION (IN)",
        _amount_row(f"  {period}", observed.precip_hundredths, observed.precip_trace, Decimal("0.01"),
                    normal_day_precip, last_year.precip_hundredths, last_year.precip_trace),
        _amount_row("  MONTH TO DATE", observed.month_precip, observed.month_precip_trace, Decimal("0.01"),
                    normal_day_precip * day.day, *_month_precip(weather, product.city, last_year.day)),
        "",
        "SNOWFALL (IN)",
        _amount_row(f"  {period}", observed.snow_tenths, observed.snow_trace, Decimal("0.1"),
                    normal_day_snow, last_year.snow_tenths, last_year.snow_trace),
        _amount_row("  MONTH TO DATE", observed.month_snow, observed.month_snow_trace, Decimal("0.1"),
                    normal_day_snow * day.day, *_month_snow(weather, product.city, last_year.day)),
        "",
        "DEGREE DAYS",
        " HEATING",
        _plain_row(f"  {period}", max(0, 65 - observed.average_f), max(0, 65 - round_f(
            Decimal(normal_high + normal_low) / 2))),
        " COOLING",
        _plain_row(f"  {period}", max(0, observed.average_f - 65), max(0, round_f(
            Decimal(normal_high + normal_low) / 2) - 65)),
        _RULE,
        "",
        "",
        f"THE {STATION_NAMES.get(product.site, product.site)} CLIMATE NORMALS FOR TODAY",
        "                         NORMAL    RECORD    YEAR",
        f" MAXIMUM TEMPERATURE (F) {_normal_for(clim.normal_high, issued_local.date()):>4}        MM      MM",
        f" MINIMUM TEMPERATURE (F) {_normal_for(clim.normal_low, issued_local.date()):>4}        MM      MM",
        "",
        "",
        "-  INDICATES NEGATIVE NUMBERS.",
        "R  INDICATES RECORD WAS SET OR TIED.",
        "MM INDICATES DATA IS MISSING.",
        "T  INDICATES TRACE AMOUNT.",
        "",
        "",
        "$$",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class _Observed:
    max_f: int
    max_time: datetime
    min_f: int
    min_time: datetime
    precip_hundredths: int
    precip_trace: bool
    snow_tenths: int
    snow_trace: bool
    month_precip: int
    month_precip_trace: bool
    month_snow: int
    month_snow_trace: bool

    @property
    def average_f(self) -> int:
        return round_f(Decimal(self.max_f + self.min_f) / 2)


def _observed(truth: DayWeather, weather: WeatherGenerator, preliminary: bool) -> _Observed:
    """The values a report shows: the whole day (final) or up to 17:00 LST (preliminary)."""
    readings = truth.hourly[:PRELIMINARY_AS_OF_HOUR] if preliminary else truth.hourly
    high = max(readings, key=lambda r: (r.tenths_c, -r.time.timestamp()))
    low = min(readings, key=lambda r: (r.tenths_c, r.time.timestamp()))
    share = PRELIMINARY_AS_OF_HOUR / 24 if preliminary else 1.0
    # Rain and snow fall evenly through the day in this model: a preliminary report has a share.
    precip = round(truth.precip_hundredths * share)
    snow = round(truth.snow_tenths * share)
    precip_trace = precip == 0 and (truth.precip_trace or truth.precip_hundredths > 0)
    snow_trace = snow == 0 and (truth.snow_trace or truth.snow_tenths > 0)
    before_p, before_pt, before_s, before_st = (0, False, 0, False)
    if truth.day.day > 1:
        before_p, before_pt, before_s, before_st = weather.month_to_date(
            truth.city, truth.day - timedelta(days=1))
    return _Observed(
        max_f=round_f(c_tenths_to_f(high.tenths_c)), max_time=high.time,
        min_f=round_f(c_tenths_to_f(low.tenths_c)), min_time=low.time,
        precip_hundredths=precip, precip_trace=precip_trace, snow_tenths=snow, snow_trace=snow_trace,
        month_precip=before_p + precip, month_precip_trace=before_pt or precip_trace,
        month_snow=before_s + snow, month_snow_trace=before_st or snow_trace,
    )


def _month_precip(weather: WeatherGenerator, city: str, day: date) -> tuple[int, bool]:
    p, pt, _, _ = weather.month_to_date(city, day)
    return p, pt


def _month_snow(weather: WeatherGenerator, city: str, day: date) -> tuple[int, bool]:
    _, _, s, st = weather.month_to_date(city, day)
    return s, st


def _same_day_last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # February 29
        return day.replace(year=day.year - 1, day=28)


def _normal_for(curve: Callable[[date], float], day: date) -> int:
    return round_f(Decimal(str(curve(day))))


def _temp_row(label: str, value: int, when: datetime | None, normal: int, last: int) -> str:
    time_text, record, year = (_lst_clock(when), "MM", "MM") if when is not None else ("", "", "")
    return (f"{label:<15}{value:>5}{time_text:>10}{record:>4}{year:>8}{normal:>4}{value - normal:>7}"
            f"{last:>9}").rstrip()


def _amount_row(label: str, units: int, trace: bool, step: Decimal, normal: Decimal, last: int,
                last_trace: bool) -> str:
    places = 2 if step == Decimal("0.01") else 1
    value = units * step
    normal_q = normal.quantize(step)
    observed = "T" if units == 0 and trace else f"{value:.{places}f}"
    last_text = "T" if last == 0 and last_trace else f"{last * step:.{places}f}"
    return (f"{label:<15}{observed:>8}{'MM':>14}{'MM':>5}{normal_q:>7.{places}f}"
            f"{value - normal_q:>7.{places}f}{last_text:>9}").rstrip()


def _plain_row(label: str, value: int, normal: int) -> str:
    return f"{label:<15}{value:>5}{'':>24}{normal:>4}{value - normal:>7}".rstrip()


def _lst_clock(when: datetime) -> str:
    """The (LST) column: ``251 PM`` (``when`` already in local standard time)."""
    return _clock(when.hour, when.minute)


def _clock(hour: int, minute: int) -> str:
    twelve = hour % 12 or 12
    return f"{twelve}{minute:02d} {'AM' if hour < 12 else 'PM'}"


def _hhmm(hour: int) -> str:
    twelve = hour % 12 or 12
    return f"{twelve:02d}00 {'AM' if hour < 12 else 'PM'}"


def _issuance_line(local: datetime) -> str:
    """``116 AM EST THU JAN 3 2013`` in the office's civil time (EDT in summer)."""
    return (f"{_clock(local.hour, local.minute)} {local.tzname()} {local:%a}".upper()
            + f" {local:%b}".upper() + f" {local.day} {local.year}")


def _digest_int(*key: object) -> int:
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "big")
