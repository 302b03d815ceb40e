"""Parser for the NWS CLI product (the Daily Climate Report), the text Kalshi's weather markets settle on.

A CLI product is a header (WMO line, AWIPS id ``CLIxxx``, "CLIMATE REPORT", the issuing office and the
issuance line) followed by one or more climate summaries, each opened by a line like
``...THE CENTRAL PARK NY CLIMATE SUMMARY FOR JANUARY 2 2013...`` and holding a values table with
TEMPERATURE, PRECIPITATION and (not always) SNOWFALL sections. The product ends with ``$$``.

What the parser promises, because these numbers can become settlement values:

* Every number is read from exactly one line, as written. ``MM`` (missing) and a row that is absent
  both give ``None``; ``T`` (trace) gives ``Decimal("0.00")`` for rain and ``Decimal("0.0")`` for snow;
  a record flag (``12.0 R``, ``3.6R``) or an edit mark (``0.00*``) beside a value is dropped.
* Anything it cannot read unambiguously raises: a row given twice, a value that looks like a time, a
  section outside its summary's values table, an unknown time zone, a weekday that does not match its
  date, a "final" report issued before its climate day ended. Nothing is guessed.
* Text that stops before the closing ``$$`` raises ``TruncatedReport``: a cut product can silently
  lose a later summary, and with it change which station a summary belongs to (see below).
  Text without a ``CLIxxx`` AWIPS id line is not a CLI product and raises ``MalformedPayload``.
* Cross-field contradictions that do not make a line unreadable (AVERAGE far from the mean of
  MAXIMUM and MINIMUM, a day's rain above the month's) are kept in ``ClimateReport.inconsistencies``;
  ``check_report`` refuses such a report as a settlement value.

Station ids. A product with one summary gives it the CLI site code of its AWIPS id (``CLINYC`` ->
``NYC``). A product with several summaries (CLIANC, the old CLIHOU) gives each
``<site>:<NAME>``, NAME being the summary's station name with every run of other characters than
A-Z/0-9 turned into ``_`` (``HOU:HOUSTON_HOBBY_AIRPORT``, ``ANC:KING_SALMON``). No summary of a
multi-station product ever gets the bare site code: the first summary of the old CLIHOU is Houston
Intercontinental, not Hobby (the Kalshi station), so naming it ``HOU`` would settle Houston on the
wrong airport.

Preliminary. A summary is preliminary when it says ``VALID ... AS OF`` or reports its values for
``TODAY``; finals report ``YESTERDAY``. Only a final report settles a market.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.nws.errors import ClimateReportError, MalformedPayload, TruncatedReport, WrongReport

#: Time zone abbreviation -> (its UTC offset, the offset of the same zone's standard time), in hours.
#: The climate day runs on local standard time, so the second figure dates the issuance.
TIME_ZONES: dict[str, tuple[int, int]] = {
    "UTC": (0, 0), "GMT": (0, 0),
    "AST": (-4, -4), "ADT": (-3, -4),
    "EST": (-5, -5), "EDT": (-4, -5),
    "CST": (-6, -6), "CDT": (-5, -6),
    "MST": (-7, -7), "MDT": (-6, -7),
    "PST": (-8, -8), "PDT": (-7, -8),
    "AKST": (-9, -9), "AKDT": (-8, -9),
    "HST": (-10, -10), "HDT": (-9, -10),
    "SST": (-11, -11),  # American Samoa (CLIPPG)
    "CHST": (10, 10),  # Guam
}

_MONTHS = ("JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER",
           "OCTOBER", "NOVEMBER", "DECEMBER")
_MONTH_NUMBERS = {name: n for n, full in enumerate(_MONTHS, 1) for name in (full, full[:3])}
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_PERIODS = ("YESTERDAY", "TODAY")
#: Plausibility limits: a number outside them was read from the wrong column.
_TEMP_RANGE_F = (-100, 140)
_MAX_DAY_PRECIP = Decimal("60.00")
_MAX_DAY_SNOW = Decimal("100.0")

# Lines are matched after upper-casing and collapsing whitespace (tabs too) to single spaces.
# re.ASCII: ``\d``/``\w`` must not accept other scripts' digits, which int() and Decimal() would read.
_A = re.ASCII
_AWIPS_ID = re.compile(r"CLI(?P<site>[A-Z0-9]{3})", _A)
_WMO_HEADING = re.compile(r"[A-Z]{4}[0-9]{2} [A-Z]{4} [0-9]{6}(?: (?P<bbb>[A-Z]{3}))?", _A)
_ISSUANCE = re.compile(r"(?P<clock>[0-9]{1,4}|[0-9]{1,2}:[0-9]{2}) (?P<ampm>AM|PM) (?P<tz>[A-Z]{2,4}) "
                       r"(?P<wday>[A-Z]{3}) (?P<month>[A-Z]{3}) (?P<day>[0-9]{1,2}) (?P<year>[0-9]{4})", _A)
_CORRECTION_WORD = re.compile(r"\bCORRECT(?:ION|ED)\b", _A)
_SUMMARY_START = re.compile(r"\.\.\..* CLIMATE SUMMARY\b", _A)
_SUMMARY = re.compile(r"\.\.\.(?:THE )?(?P<name>.+?) CLIMATE SUMMARY FOR (?P<when>.+?)"
                      r"(?P<correction> CORRECT(?:ION|ED))?\.\.\.", _A)
_CALENDAR_DATE = re.compile(r"(?P<month>[A-Z]+) (?P<day>[0-9]{1,2}),? (?P<year>[0-9]{4})", _A)
_VALID_AS_OF = re.compile(r"VALID\b.*\bAS OF\b", _A)
_SECTIONS = {
    "TEMPERATURE": re.compile(r"TEMPERATURE ?(?:\(F\))?", _A),
    "PRECIPITATION": re.compile(r"PRECIPITATION ?(?:\((?:IN|INCHES)\))?", _A),
    "SNOWFALL": re.compile(r"SNOWFALL ?(?:\((?:IN|INCHES)\))?", _A),
}
#: Lines that close a summary's values table (the dotted rule under it, or the next part of the report).
_TABLE_END = re.compile(r"\.{10,}$|(?:DEGREE DAYS|WIND|SKY COVER|WEATHER CONDITIONS|RELATIVE HUMIDITY|"
                        r"SUNRISE AND SUNSET)\b|THE .* CLIMATE NORMALS\b|\$\$|&&", _A)
_FLAGS = ("R", "*")  # record set or tied; an edited value (CLIEWN: "0.00*" after a removed false tip)
_TEMPERATURE = re.compile(r"(?P<value>-?[0-9]{1,3}|MM)[R*]?", _A)
_PRECIP = re.compile(r"(?P<value>[0-9]{1,3}\.[0-9]{2}|T|MM)[R*]?", _A)
_SNOW = re.compile(r"(?P<value>[0-9]{1,3}(?:\.[0-9])?|T|MM)[R*]?", _A)  # CLIPPG writes snow as "0"


@dataclass(frozen=True, kw_only=True)
class ClimateReport:
    """One station's summary from a CLI product, with the numbers exactly as the product gave them."""

    station: str
    station_name: str
    climate_date: date
    issued_at: datetime
    preliminary: bool
    correction: bool
    max_temp_f: int | None = None
    min_temp_f: int | None = None
    precip_in: Decimal | None = None
    precip_month_in: Decimal | None = None
    snow_in: Decimal | None = None
    snow_month_in: Decimal | None = None
    #: Contradictions between this summary's own numbers; a report with any never settles.
    inconsistencies: tuple[str, ...] = ()


def parse_cli_product(text: str) -> list[ClimateReport]:
    """Every climate summary in one CLI product's text, in product order.

    Raises ``MalformedPayload`` for text that is not a CLI product, ``TruncatedReport`` for text that
    ends before the product's closing ``$$``, and ``ClimateReportError`` for anything unreadable.
    """
    if not isinstance(text, str):
        raise MalformedPayload(f"a CLI product must be text, not {type(text).__name__}")
    lines = [" ".join(line.split()) for line in text.upper().splitlines()]
    if not any(lines):
        raise MalformedPayload("empty text where a CLI product was expected")
    starts = [i for i, line in enumerate(lines) if _SUMMARY_START.match(line)]
    header = lines[: starts[0]] if starts else lines
    site = _site(header)
    ends = [i for i, line in enumerate(lines) if line.startswith("$$") and (not starts or i > starts[-1])]
    if not starts and (ends or any(_section_of(line) for line in lines)):
        # The product is whole (or has a values table) yet no summary line: not a layout we can read.
        raise ClimateReportError(f"CLI{site}: no '...THE <station> CLIMATE SUMMARY FOR <date>...' line")
    if not starts or not ends:
        missing = "any climate summary" if not starts else "the closing '$$'"
        raise TruncatedReport(f"CLI{site}: the text ends before {missing}")
    if any(_section_of(line) for line in header):
        raise ClimateReportError(f"CLI{site}: a values table before any climate summary line")
    issued_at, standard_offset = _issuance(header, site)
    product_correction = _is_correction(header)
    bounds = [*starts, ends[0]]
    summaries = [_Summary.read(lines[a:b], site) for a, b in itertools.pairwise(bounds)]
    reports = [s.report(site, issued_at, standard_offset, product_correction, len(summaries) > 1)
               for s in summaries]
    stations = [r.station for r in reports]
    if len(set(stations)) != len(stations):
        raise ClimateReportError(f"CLI{site}: two summaries for the same station ({', '.join(stations)})")
    return reports


def parse_cli_file(path: str | os.PathLike[str]) -> list[ClimateReport]:
    """``parse_cli_product`` on a file's text; a file that is not ASCII/UTF-8 text is malformed."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedPayload(f"{path}: not a text file ({e.reason} at byte {e.start})") from e
    return parse_cli_product(text)


def report_json(report: ClimateReport) -> dict[str, Any]:
    """The JSON object ``milkbot nws parse-cli`` prints for one report (PRODUCT.md's shape)."""

    def number(value: Decimal | None) -> float | None:
        # JSON has one number type; a Decimal of at most two places prints back exactly as a float.
        return None if value is None else float(value)

    return {
        "station": report.station,
        "date": report.climate_date.isoformat(),
        "preliminary": report.preliminary,
        "correction": report.correction,
        "max_temp_f": report.max_temp_f,
        "min_temp_f": report.min_temp_f,
        "precip_in": number(report.precip_in),
        "precip_month_in": number(report.precip_month_in),
        "snow_in": number(report.snow_in),
        "snow_month_in": number(report.snow_month_in),
    }


def check_report(report: ClimateReport, *, station: str, climate_date: date,
                 allow_preliminary: bool = False) -> None:
    """Refuse a report as the settlement value for ``station`` (a CLI site code) on ``climate_date``.

    ``WrongReport`` when it is another station's or another day's; ``ClimateReportError`` when it is
    preliminary (unless allowed: only the final report settles) or contradicts itself.
    """
    if report.station != station.strip().upper():
        raise WrongReport(f"asked for station {station}, the report is for {report.station} "
                          f"({report.station_name})")
    if report.climate_date != climate_date:
        raise WrongReport(f"asked for {station} on {climate_date.isoformat()}, the report is for "
                          f"{report.climate_date.isoformat()}")
    if report.preliminary and not allow_preliminary:
        raise ClimateReportError(f"{station} {climate_date.isoformat()}: a preliminary report never settles")
    if report.inconsistencies:
        raise ClimateReportError(f"{station} {climate_date.isoformat()}: the report contradicts itself: "
                                 + "; ".join(report.inconsistencies))


# --- the product header ------------------------------------------------------------------------------

def _site(header: list[str]) -> str:
    sites = [m["site"] for line in header if (m := _AWIPS_ID.fullmatch(line))]
    if not sites:
        raise MalformedPayload("not a CLI product: no AWIPS id line like 'CLINYC' before the first summary")
    if len(sites) > 1:
        raise ClimateReportError(f"several AWIPS id lines ({', '.join('CLI' + s for s in sites)})")
    return sites[0]


def _is_correction(header: list[str]) -> bool:
    """A correction says so in words ("CLIMATE REPORT (CORRECTION)") or in the WMO line's BBB.

    CCx is a correction and AAx an amendment; both replace an earlier issuance. RRx is only a
    delayed routine transmission (CLIEST, CLILWD) and is not a correction.
    """
    for line in header:
        if (wmo := _WMO_HEADING.fullmatch(line)) and (wmo["bbb"] or "")[:2] in ("CC", "AA"):
            return True
    return any(_CORRECTION_WORD.search(line) for line in header)


def _issuance(header: list[str], site: str) -> tuple[datetime, timezone]:
    """The issuance time (aware) and the issuing zone's standard-time offset."""
    found = [m for line in header if (m := _ISSUANCE.fullmatch(line))]
    if len(found) != 1:
        raise ClimateReportError(f"CLI{site}: expected one issuance line like '116 AM EST THU JAN 3 2013', "
                                 f"found {len(found)}")
    m = found[0]
    if m["tz"] not in TIME_ZONES:
        raise ClimateReportError(f"CLI{site}: unknown time zone {m['tz']!r} in the issuance line")
    offset, standard = TIME_ZONES[m["tz"]]
    hour, minute = _clock(m["clock"], m["ampm"], site)
    day = _date(int(m["year"]), m["month"], int(m["day"]), f"CLI{site}")
    if m["wday"] != _WEEKDAYS[day.weekday()]:
        raise ClimateReportError(f"CLI{site}: the issuance line says {m['wday']} but {day.isoformat()} "
                                 f"is a {_WEEKDAYS[day.weekday()]}")
    zone = timezone(timedelta(hours=offset), m["tz"])
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone), timezone(
        timedelta(hours=standard))


def _clock(text: str, ampm: str, site: str) -> tuple[int, int]:
    """``301``, ``0301`` or ``3:01`` with AM/PM -> (hour, minute) on a 24-hour clock."""
    hours, minutes = text.split(":") if ":" in text else (text[:-2], text[-2:])
    if not hours or not (1 <= int(hours) <= 12 and 0 <= int(minutes) <= 59):
        raise ClimateReportError(f"CLI{site}: {text} {ampm} is not a time of day")
    return int(hours) % 12 + (12 if ampm == "PM" else 0), int(minutes)


def _date(year: int, month: str, day: int, where: str) -> date:
    # Outside these years a date is a misread, and date arithmetic near year 1 would overflow.
    if month not in _MONTH_NUMBERS or not 1900 <= year <= 2199:
        raise ClimateReportError(f"{where}: {month} {day} {year} is not a date")
    try:
        return date(year, _MONTH_NUMBERS[month], day)
    except ValueError as e:
        raise ClimateReportError(f"{where}: {month} {day} {year} is not a date") from e


def _section_of(line: str) -> str | None:
    return next((name for name, pattern in _SECTIONS.items() if pattern.fullmatch(line)), None)


# --- one climate summary -----------------------------------------------------------------------------

@dataclass
class _Summary:
    """The lines of one summary that matter, grouped by values-table section."""

    name: str
    when: str
    correction: bool
    valid_as_of: bool = False
    sections: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def read(cls, lines: list[str], site: str) -> _Summary:
        heading = _SUMMARY.fullmatch(lines[0])
        if not heading:
            raise ClimateReportError(f"CLI{site}: cannot read the summary line {lines[0][:80]!r}")
        summary = cls(heading["name"], heading["when"], bool(heading["correction"]))
        current: list[str] | None = None
        closed = False
        for line in lines[1:]:
            if name := _section_of(line):
                if closed or name in summary.sections:
                    where = "twice" if name in summary.sections else "outside the values table"
                    raise ClimateReportError(f"CLI{site} {summary.name}: a {name} section {where}")
                current = summary.sections[name] = []
            elif _TABLE_END.match(line):
                current = None
                closed = closed or bool(summary.sections)
            elif not line:
                current = None
            elif current is not None:
                current.append(line)
            elif not summary.sections and _VALID_AS_OF.match(line):
                summary.valid_as_of = True
        return summary

    def report(self, site: str, issued_at: datetime, standard: timezone, product_correction: bool,
               several: bool) -> ClimateReport:
        where = f"CLI{site} {self.name}"
        for required in ("TEMPERATURE", "PRECIPITATION"):
            if required not in self.sections:
                raise ClimateReportError(f"{where}: no {required} section")
        periods: set[str] = set()
        temps = _rows(self.sections["TEMPERATURE"], periods, where, "TEMPERATURE")
        precip = _rows(self.sections["PRECIPITATION"], periods, where, "PRECIPITATION")
        snow = _rows(self.sections.get("SNOWFALL", []), periods, where, "SNOWFALL")
        if len(periods) != 1:
            raise ClimateReportError(f"{where}: expected the values for YESTERDAY or TODAY, found "
                                     f"{' and '.join(sorted(periods)) or 'neither'}")
        period = periods.pop()
        preliminary = self.valid_as_of or period == "TODAY"

        max_f = _temperature(temps.get("MAXIMUM"), where, "MAXIMUM")
        min_f = _temperature(temps.get("MINIMUM"), where, "MINIMUM")
        day_precip = _amount(precip.get(period), _PRECIP, Decimal("0.01"), where, f"{period} rain")
        month_precip = _amount(precip.get("MONTH TO DATE"), _PRECIP, Decimal("0.01"), where, "month rain")
        day_snow = _amount(snow.get(period), _SNOW, Decimal("0.1"), where, f"{period} snow")
        month_snow = _amount(snow.get("MONTH TO DATE"), _SNOW, Decimal("0.1"), where, "month snow")
        for value, limit, what in ((day_precip, _MAX_DAY_PRECIP, "rain"), (day_snow, _MAX_DAY_SNOW, "snow")):
            if value is not None and value > limit:
                raise ClimateReportError(f"{where}: {value} in of {what} in a day is not plausible")

        climate_date = self._climate_date(issued_at, where)
        issued_on = issued_at.astimezone(standard).date()
        if issued_on < climate_date:
            raise ClimateReportError(f"{where}: issued {issued_at.isoformat()}, before its climate day "
                                     f"{climate_date.isoformat()}")
        if not preliminary and issued_on <= climate_date:
            raise ClimateReportError(f"{where}: a final report issued {issued_at.isoformat()}, before its "
                                     f"climate day {climate_date.isoformat()} ended")
        average = _average(temps.get("AVERAGE"))
        slug = re.sub(r"[^A-Z0-9]+", "_", self.name, flags=_A).strip("_")
        return ClimateReport(
            station=f"{site}:{slug}" if several else site,
            station_name=self.name,
            climate_date=climate_date,
            issued_at=issued_at,
            preliminary=preliminary,
            correction=product_correction or self.correction,
            max_temp_f=max_f,
            min_temp_f=min_f,
            precip_in=day_precip,
            precip_month_in=month_precip,
            snow_in=day_snow,
            snow_month_in=month_snow,
            inconsistencies=_inconsistencies(max_f, min_f, average, (day_precip, month_precip, "rain"),
                                             (day_snow, month_snow, "snow")),
        )

    def _climate_date(self, issued_at: datetime, where: str) -> date:
        # Older products may say "...CLIMATE SUMMARY FOR YESTERDAY..." instead of the date; the
        # issuance's own calendar day is what "yesterday" and "today" refer to.
        if self.when in _PERIODS:
            return issued_at.date() - timedelta(days=1 if self.when == "YESTERDAY" else 0)
        m = _CALENDAR_DATE.fullmatch(self.when)
        if not m:
            raise ClimateReportError(f"{where}: cannot read the climate day {self.when!r}")
        return _date(int(m["year"]), m["month"], int(m["day"]), where)


def _rows(lines: list[str], periods: set[str], where: str, section: str) -> dict[str, list[str]]:
    """A section's rows we read, by label -> the tokens after the label; other rows are ignored.

    In TEMPERATURE, YESTERDAY/TODAY is a line of its own naming the period; in PRECIPITATION and
    SNOWFALL it is the label of the day's row.
    """
    rows: dict[str, list[str]] = {}
    for line in lines:
        tokens = line.split()
        if section == "TEMPERATURE" and tokens[0] in _PERIODS:
            if len(tokens) > 1:
                raise ClimateReportError(f"{where}: unexpected {line!r} in the TEMPERATURE section")
            periods.add(tokens[0])
            continue
        if section == "TEMPERATURE" and tokens[0] in ("MAXIMUM", "MINIMUM", "AVERAGE"):
            label, values = tokens[0], tokens[1:]
        elif section != "TEMPERATURE" and tokens[0] in _PERIODS:
            label, values = tokens[0], tokens[1:]
            periods.add(label)
        elif section != "TEMPERATURE" and tokens[:3] == ["MONTH", "TO", "DATE"]:
            label, values = "MONTH TO DATE", tokens[3:]
        else:
            continue
        if label in rows:
            raise ClimateReportError(f"{where}: {section} {label} is given twice")
        rows[label] = values
    return rows


def _value(tokens: list[str], pattern: re.Pattern[str], where: str, what: str) -> str:
    """The observed value: the row's first token, its record/edit flag dropped."""
    if not tokens:
        raise ClimateReportError(f"{where}: the {what} row has no value")
    m = pattern.fullmatch(tokens[0])
    rest = tokens[1:]
    if rest and rest[0] in _FLAGS:
        rest = rest[1:]
    # "MAXIMUM 301 PM 68 1876": the value column is empty and the time slid into it.
    if not m or rest[:1] in (["AM"], ["PM"]):
        raise ClimateReportError(f"{where}: cannot read the {what} value from {' '.join(tokens)!r}")
    return m["value"]


def _temperature(tokens: list[str] | None, where: str, what: str) -> int | None:
    if tokens is None:
        return None
    value = _value(tokens, _TEMPERATURE, where, what)
    if value == "MM":
        return None
    degrees = int(value)
    if not _TEMP_RANGE_F[0] <= degrees <= _TEMP_RANGE_F[1]:
        raise ClimateReportError(f"{where}: {what} {degrees}F is not a plausible temperature")
    return degrees


def _amount(tokens: list[str] | None, pattern: re.Pattern[str], places: Decimal, where: str,
            what: str) -> Decimal | None:
    if tokens is None:
        return None
    value = _value(tokens, pattern, where, what)
    if value == "MM":
        return None
    # A trace settles as zero (PRODUCT.md); the regex allows no more places than ``places``.
    return places * 0 if value == "T" else Decimal(value).quantize(places)


def _average(tokens: list[str] | None) -> int | None:
    """AVERAGE is only a cross-check, so an unreadable one is skipped rather than refused."""
    m = _TEMPERATURE.fullmatch(tokens[0]) if tokens else None
    return int(m["value"]) if m and m["value"] != "MM" else None


def _inconsistencies(max_f: int | None, min_f: int | None, average: int | None,
                     *amounts: tuple[Decimal | None, Decimal | None, str]) -> tuple[str, ...]:
    found: list[str] = []
    if max_f is not None and min_f is not None:
        if max_f < min_f:
            found.append(f"MAXIMUM {max_f} is below MINIMUM {min_f}")
        # AVERAGE is the rounded mean of max and min, at some sites of their unrounded readings, so it
        # may sit a degree off the mean of the printed integers; further off, one of the three is wrong.
        elif average is not None and abs(2 * average - (max_f + min_f)) > 3:
            found.append(f"AVERAGE {average} does not match MAXIMUM {max_f} and MINIMUM {min_f}")
    for day, month, what in amounts:
        if day is not None and month is not None and day > month:
            found.append(f"the day's {what} {day} exceeds the month to date {month}")
    return tuple(found)
