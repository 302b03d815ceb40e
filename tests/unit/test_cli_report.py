"""The CLI (Daily Climate Report) parser against every real product in ../shared/fixtures/nws/cli.

The fixtures are pyIEM's test products (MIT, see LICENSE.pyIEM beside them). Every expected number
below was read off the product text by hand, not produced by the parser.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.nws.cli_report import (
    TIME_ZONES,
    ClimateReport,
    check_report,
    parse_cli_file,
    parse_cli_product,
    report_json,
)
from adapters.nws.errors import ClimateReportError, MalformedPayload, TruncatedReport, WrongReport
from tests import paths

FIXTURES = paths.FIXTURES / "nws/cli"

D = Decimal
# station, station name, climate day, issued at, preliminary, correction,
# max, min, rain, rain month to date, snow, snow month to date
EXPECTED: dict[str, list[tuple[object, ...]]] = {
    "CLIABY.txt": [("ABY", "ALBANY", "2014-09-29", "2014-09-30T02:31-04:00", False, False,
                    79, 72, None, None, None, None)],  # rain MM, no month row, no snowfall section
    "CLIACT.txt": [("ACT", "WACO", "2014-12-15", "2014-12-15T16:24-06:00", True, False,
                    69, 52, D("0.02"), D("0.07"), D("0.0"), D("0.0"))],
    "CLIANC.txt": [
        ("ANC:ANCHORAGE_AK", "ANCHORAGE AK", "2017-03-14", "2017-03-15T04:35-08:00", False, False,
         23, 12, D("0.00"), D("0.00"), D("0.0"), D("0.0")),
        ("ANC:KING_SALMON", "KING SALMON", "2017-03-14", "2017-03-15T04:35-08:00", False, False,
         22, 9, D("0.00"), D("0.00"), D("0.0"), D("0.0")),
        ("ANC:KODIAK", "KODIAK", "2017-03-14", "2017-03-15T04:35-08:00", False, False,
         31, 22, D("0.00"), D("0.00"), D("0.1"), D("0.1")),  # rain T, month T
        ("ANC:BETHEL", "BETHEL", "2017-03-14", "2017-03-15T04:35-08:00", False, False,
         10, -3, D("0.00"), D("0.01"), D("0.0"), D("0.0")),  # rain T; snow T, month T
        ("ANC:SAINT_PAUL_ISLAND", "SAINT PAUL ISLAND", "2017-03-14", "2017-03-15T04:35-08:00", False,
         False, 29, 21, D("0.00"), D("0.09"), D("0.0"), D("0.4")),
        ("ANC:COLD_BAY", "COLD BAY", "2017-03-14", "2017-03-15T04:35-08:00", False, False,
         33, 23, D("0.00"), D("0.00"), D("0.0"), D("0.0")),  # month rain T, month snow T
    ],
    "CLIBET.txt": [("BET", "BETHEL AP", "2014-01-01", "2014-01-02T03:51-09:00", False, False,
                    17, 11, D("0.03"), D("0.03"), D("0.2"), D("0.2"))],
    "CLIBGR.txt": [("BGR", "BANGOR ME", "2014-11-02", "2014-11-03T00:27-05:00", False, False,
                    35, 31, D("0.59"), D("0.79"), D("12.0"), D("12.0"))],  # "12.0 R"
    "CLIBOI.txt": [("BOI", "BOISE ID", "2014-12-29", "2014-12-29T09:31-07:00", True, False,
                    28, 23, D("0.00"), D("3.28"), None, None)],  # rain T
    "CLICVG.txt": [("CVG", "CINCINNATI OH", "2020-04-22", "2020-04-23T01:47-04:00", False, False,
                    69, 35, D("0.00"), D("2.33"), D("0.0"), D("0.0"))],
    "CLICVG_colon.txt": [("CVG", "CINCINNATI OH", "2021-02-04", "2021-02-05T00:34-05:00", False, False,
                          39, 22, D("0.14"), D("0.34"), D("0.0"), D("2.2"))],  # snow T
    "CLICVG_newer.txt": [("CVG", "CINCINNATI OH", "2020-04-22", "2020-04-23T01:50-04:00", False, False,
                          70, 35, D("0.00"), D("2.33"), D("0.0"), D("0.0"))],
    "CLICVG_older.txt": [("CVG", "CINCINNATI OH", "2020-04-22", "2020-04-23T01:46-04:00", False, False,
                          68, 35, D("0.00"), D("2.33"), D("0.0"), D("0.0"))],
    "CLIDCA.txt": [("DCA", "WASHINGTON NATIONAL DC", "2026-06-28", "2026-06-29T02:40-04:00", False, False,
                    76, 72, D("0.33"), D("1.68"), D("0.0"), D("0.0"))],
    "CLIDSM.txt": [("DSM", "DES MOINES IA", "2013-08-01", "2013-08-02T02:06-05:00", False, False,
                    89, 63, D("0.00"), D("0.00"), D("0.0"), D("0.0"))],
    "CLIEST.txt": [("EST", "ESTHERVILLE IA", "2014-10-12", "2014-10-13T01:43-05:00", False, False,
                    62, 33, D("0.00"), D("1.22"), None, None)],  # "RRA" is not a correction
    "CLIEWN.txt": [("EWN", "NEW BERN NC", "2014-09-28", "2014-10-18T09:28-04:00", False, True,
                    83, 62, D("0.00"), D("7.56"), D("0.0"), D("0.0"))],  # "0.00*"
    "CLIFFC.txt": [("FFC", "PEACHTREE CITY", "2014-10-03", "2014-10-03T16:32-04:00", True, False,
                    79, 67, D("0.87"), D("0.87"), None, D("0.0"))],  # snow MM
    "CLIHOU.txt": [
        ("HOU:HOUSTON_INTERCONTINENTAL", "HOUSTON INTERCONTINENTAL", "2014-11-30", "2014-12-01T08:45-06:00",
         False, False, 80, 61, D("0.00"), D("3.40"), D("0.0"), D("0.0")),
        ("HOU:HOUSTON_HOBBY_AIRPORT", "HOUSTON/HOBBY AIRPORT", "2014-11-30", "2014-12-01T08:45-06:00",
         False, False, 79, 62, D("0.00"), D("4.44"), D("0.0"), D("0.0")),
    ],
    "CLIICT.txt": [("ICT", "WICHITA MID CONTINENT", "2014-12-29", "2014-12-29T07:00-06:00", True, False,
                    None, 22, D("0.00"), D("1.22"), D("0.0"), D("2.7"))],  # no MAXIMUM row at 7 AM
    "CLIJNU.txt": [("JNU", "JUNEAU", "2013-06-30", "2013-06-30T16:36-08:00", True, False,
                    75, 52, D("0.00"), D("3.19"), None, None)],
    "CLILWD.txt": [("LWD", "LAMONI IA", "2017-05-29", "2017-05-30T01:49-05:00", False, False,
                    76, 55, D("0.00"), D("3.68"), None, None)],  # a stray AFOS line in the table
    "CLIMSO.txt": [("MSO", "MISSOULA MT", "2014-12-29", "2014-12-29T08:31-07:00", True, False,
                    None, 12, D("0.00"), None, None, None)],
    "CLINYC.txt": [("NYC", "CENTRAL PARK NY", "2013-01-02", "2013-01-03T01:16-05:00", False, False,
                    33, 22, D("0.00"), D("0.00"), D("0.0"), D("0.0"))],
    "CLIOME.txt": [("OME", "NOME WSO AP", "2014-10-23", "2014-10-24T01:05-08:00", False, False,
                    33, 19, D("0.35"), D("0.35"), D("3.6"), D("3.6"))],  # "3.6R"
    "CLISEW.txt": [("SEW", "SEATTLE WA WFO", "2014-12-29", "2014-12-30T00:29-08:00", False, False,
                    44, 34, D("0.00"), D("5.38"), D("0.0"), D("0.0"))],
}
#: Fixtures that must not parse as they are, and why.
REFUSED = {"CLIPPG.txt": TruncatedReport}  # no closing "$$" (see test_pago_pago_without_its_closing_line)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def only(text: str) -> ClimateReport:
    reports = parse_cli_product(text)
    assert len(reports) == 1
    return reports[0]


def as_row(report: ClimateReport) -> tuple[object, ...]:
    return (report.station, report.station_name, report.climate_date.isoformat(),
            report.issued_at.isoformat(timespec="minutes"), report.preliminary, report.correction,
            report.max_temp_f, report.min_temp_f, report.precip_in, report.precip_month_in,
            report.snow_in, report.snow_month_in)


# --- every fixture -----------------------------------------------------------------------------------

def test_every_fixture_is_covered() -> None:
    assert {p.name for p in FIXTURES.glob("*.txt")} == set(EXPECTED) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_numbers(name: str) -> None:
    assert [as_row(r) for r in parse_cli_file(FIXTURES / name)] == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_fixtures(name: str) -> None:
    with pytest.raises(REFUSED[name]):
        parse_cli_file(FIXTURES / name)


def test_pago_pago_without_its_closing_line() -> None:
    # CLIPPG has every value but ends without "$$"; with it, its odd layout (no column alignment,
    # a tab, "TEMPERATURE(F)", snow written "0", SST) reads fine. It reports TODAY, so it is preliminary.
    report = only(fixture("CLIPPG.txt") + "$$\n")
    assert as_row(report) == ("PPG", "PAGO PAGO AIRPORT", "2020-12-28", "2020-12-28T17:00-11:00", True,
                              False, 89, 77, D("0.00"), D("14.55"), D("0.0"), D("0.0"))


def test_only_internally_consistent_fixtures_settle() -> None:
    # CLIDCA's AVERAGE (55, and its degree days) contradicts MAXIMUM 76 / MINIMUM 72 (mean 74).
    flagged = {name for name in EXPECTED for r in parse_cli_file(FIXTURES / name) if r.inconsistencies}
    assert flagged == {"CLIDCA.txt"}
    dca = only(fixture("CLIDCA.txt"))
    assert dca.inconsistencies == ("AVERAGE 55 does not match MAXIMUM 76 and MINIMUM 72",)
    with pytest.raises(ClimateReportError, match="AVERAGE 55") as caught:
        check_report(dca, station="DCA", climate_date=date(2026, 6, 28))
    assert not isinstance(caught.value, WrongReport)


# --- MM, T, R and other marks ------------------------------------------------------------------------

def test_amounts_keep_their_decimal_places() -> None:
    bgr = only(fixture("CLIBGR.txt"))
    assert (str(bgr.precip_in), str(bgr.snow_in)) == ("0.59", "12.0")
    bethel = parse_cli_product(fixture("CLIANC.txt"))[3]
    assert (str(bethel.precip_in), str(bethel.snow_in), str(bethel.snow_month_in)) == ("0.00", "0.0", "0.0")


def test_missing_is_none_never_zero() -> None:
    assert only(fixture("CLIABY.txt")).precip_in is None  # "YESTERDAY MM"
    assert only(fixture("CLIFFC.txt")).snow_in is None  # "TODAY MM MM MM ..."
    text = fixture("CLINYC.txt").replace("MAXIMUM         33    301 PM", "MAXIMUM         MM    301 PM")
    assert only(text).max_temp_f is None


def test_trace_is_zero() -> None:
    boi = only(fixture("CLIBOI.txt"))
    assert boi.precip_in == 0 and str(boi.precip_in) == "0.00"
    assert report_json(boi)["precip_in"] == 0.0


@pytest.mark.parametrize(("old", "new", "field", "value"), [
    ("YESTERDAY       12.0 R ", "YESTERDAY       12.0R  ", "snow_in", D("12.0")),
    ("MAXIMUM         35    324 AM", "MAXIMUM         35R   324 AM", "max_temp_f", 35),
    ("MAXIMUM         35    324 AM", "MAXIMUM         35 R  324 AM", "max_temp_f", 35),
    ("YESTERDAY        0.59 ", "YESTERDAY        0.59R", "precip_in", D("0.59")),
    ("YESTERDAY        0.59 ", "YESTERDAY        T    ", "precip_in", D("0.00")),
])
def test_record_flags_do_not_change_values(old: str, new: str, field: str, value: object) -> None:
    text = fixture("CLIBGR.txt")
    assert old in text
    assert getattr(only(text.replace(old, new)), field) == value


# --- times -------------------------------------------------------------------------------------------

def test_both_time_formats_read_the_same() -> None:
    text = fixture("CLINYC.txt")
    colon = (text.replace("116 AM EST", "1:16 AM EST").replace("301 PM", "3:01 PM")
             .replace("743 AM", "7:43 AM"))
    assert colon != text
    assert only(colon) == only(text)
    assert only(text).issued_at == datetime.fromisoformat("2013-01-03T06:16:00+00:00")
    # CLICVG_colon has "11:29 PM" in its table and "1234 AM" (00:34) in its issuance line.
    assert only(fixture("CLICVG_colon.txt")).issued_at.isoformat() == "2021-02-05T00:34:00-05:00"


@pytest.mark.parametrize("zone", sorted(TIME_ZONES))
def test_named_time_zones_become_offsets(zone: str) -> None:
    report = only(fixture("CLINYC.txt").replace("116 AM EST THU", f"116 PM {zone} THU"))
    assert report.issued_at.utcoffset() == timedelta(hours=TIME_ZONES[zone][0])
    assert report.issued_at.tzname() == zone


def test_noon_and_midnight() -> None:
    text = fixture("CLINYC.txt")
    assert only(text.replace("116 AM EST", "1200 PM EST")).issued_at.hour == 12
    assert only(text.replace("116 AM EST", "1205 AM EST")).issued_at.hour == 0


# --- several stations in one product ------------------------------------------------------------------

def test_multi_station_products_name_each_summary() -> None:
    anc = parse_cli_product(fixture("CLIANC.txt"))
    assert [r.station for r in anc] == ["ANC:ANCHORAGE_AK", "ANC:KING_SALMON", "ANC:KODIAK", "ANC:BETHEL",
                                        "ANC:SAINT_PAUL_ISLAND", "ANC:COLD_BAY"]
    # Each summary has its own numbers, not the first one's.
    assert [r.max_temp_f for r in anc] == [23, 22, 31, 10, 29, 33]


def test_the_old_houston_product_never_settles_houston() -> None:
    # Its first summary is Intercontinental, its second Hobby (Kalshi's HOU): neither may pass as "HOU".
    for report in parse_cli_product(fixture("CLIHOU.txt")):
        with pytest.raises(WrongReport, match="HOU:"):
            check_report(report, station="HOU", climate_date=date(2014, 11, 30))


def test_a_product_with_two_summaries_of_one_station_is_refused() -> None:
    text = fixture("CLIHOU.txt").replace("HOUSTON/HOBBY AIRPORT CLIMATE SUMMARY",
                                         "HOUSTON INTERCONTINENTAL CLIMATE SUMMARY")
    with pytest.raises(ClimateReportError, match="same station"):
        parse_cli_product(text)


def test_a_lost_summary_line_is_refused_not_merged() -> None:
    # Without Hobby's summary line, its table would land in Intercontinental's summary.
    hobby = "...THE HOUSTON/HOBBY AIRPORT CLIMATE SUMMARY FOR NOVEMBER 30 2014..."
    text = fixture("CLIHOU.txt").replace(hobby, "")
    with pytest.raises(ClimateReportError, match="a TEMPERATURE section twice"):
        parse_cli_product(text)
    text = fixture("CLIHOU.txt").replace(
        "...THE HOUSTON INTERCONTINENTAL CLIMATE SUMMARY FOR NOVEMBER 30 2014...", "")
    with pytest.raises(ClimateReportError, match="before any climate summary"):
        parse_cli_product(text)


# --- the JSON of `milkbot nws parse-cli` --------------------------------------------------------------

def test_json_shape() -> None:
    assert report_json(only(fixture("CLINYC.txt"))) == {
        "station": "NYC", "date": "2013-01-02", "preliminary": False, "correction": False,
        "max_temp_f": 33, "min_temp_f": 22, "precip_in": 0.0, "precip_month_in": 0.0,
        "snow_in": 0.0, "snow_month_in": 0.0,
    }
    assert list(report_json(only(fixture("CLINYC.txt")))) == [
        "station", "date", "preliminary", "correction", "max_temp_f", "min_temp_f", "precip_in",
        "precip_month_in", "snow_in", "snow_month_in"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_json_round_trips(name: str) -> None:
    for report in parse_cli_file(FIXTURES / name):
        shown = json.loads(json.dumps(report_json(report)))
        assert shown == report_json(report)
        for key in ("precip_in", "precip_month_in", "snow_in", "snow_month_in"):
            value = getattr(report, key)
            assert shown[key] == (None if value is None else float(value))
            assert shown[key] is None or str(D(str(shown[key])).quantize(value)) == str(value)


def test_json_nulls_and_traces() -> None:
    shown = report_json(only(fixture("CLIABY.txt")))
    assert (shown["precip_in"], shown["snow_in"], shown["precip_month_in"]) == (None, None, None)
    shown = report_json(parse_cli_product(fixture("CLIANC.txt"))[3])
    assert (shown["precip_in"], shown["snow_in"], shown["precip_month_in"]) == (0.0, 0.0, 0.01)
    shown = report_json(only(fixture("CLIICT.txt")))
    assert (shown["max_temp_f"], shown["min_temp_f"]) == (None, 22)


# --- preliminary, final, correction ---------------------------------------------------------------------

@pytest.mark.parametrize(("name", "preliminary"), [
    ("CLINYC.txt", False), ("CLIACT.txt", True), ("CLIFFC.txt", True), ("CLIJNU.txt", True),
    ("CLIMSO.txt", True), ("CLIICT.txt", True), ("CLIBET.txt", False)])
def test_preliminary_reports(name: str, preliminary: bool) -> None:
    assert only(fixture(name)).preliminary is preliminary


@pytest.mark.parametrize(("old", "new", "correction"), [
    ("CDUS41 KOKX 030616", "CDUS41 KOKX 030616 CCA", True),
    ("CDUS41 KOKX 030616", "CDUS41 KOKX 030616 AAA", True),
    ("CDUS41 KOKX 030616", "CDUS41 KOKX 030616 RRA", False),
    ("\nCLIMATE REPORT\n", "\nCLIMATE REPORT...CORRECTED\n", True),
    ("FOR JANUARY 2 2013...", "FOR JANUARY 2 2013 CORRECTED...", True),
    ("FOR JANUARY 2 2013...", "FOR JANUARY 2 2013...", False),
])
def test_corrections(old: str, new: str, correction: bool) -> None:
    text = fixture("CLINYC.txt")
    assert old in text
    assert only(text.replace(old, new)).correction is correction


def test_a_summary_for_yesterday_without_a_date() -> None:
    text = fixture("CLINYC.txt").replace("SUMMARY FOR JANUARY 2 2013...", "SUMMARY FOR YESTERDAY...")
    assert only(text).climate_date == date(2013, 1, 2)


def test_a_final_report_issued_before_its_day_ended_is_refused() -> None:
    # CLIACT reports TODAY at 4 PM; saying YESTERDAY with no "VALID AS OF" would claim a final report
    # for a day that has not ended.
    text = fixture("CLIACT.txt").replace("VALID AS OF 0400 PM LOCAL TIME.\n", "").replace(
        " TODAY ", " YESTERDAY ")
    with pytest.raises(ClimateReportError, match="before its climate day"):
        parse_cli_product(text)
    # 12:27 AM EDT is 11:27 PM standard time, still inside the climate day.
    text = fixture("CLIBGR.txt").replace("1227 AM EST MON NOV 3", "1227 AM EDT MON NOV 3")
    with pytest.raises(ClimateReportError, match="before its climate day"):
        parse_cli_product(text)


# --- check_report -----------------------------------------------------------------------------------------

def test_check_report_accepts_the_right_final_report() -> None:
    report = only(fixture("CLINYC.txt"))
    check_report(report, station="NYC", climate_date=date(2013, 1, 2))
    check_report(report, station="nyc", climate_date=date(2013, 1, 2))


@pytest.mark.parametrize(("station", "day", "message"), [
    ("MDW", date(2013, 1, 2), "station MDW"),
    ("NYC", date(2013, 1, 3), "2013-01-03"),
    ("NYC", date(2012, 1, 2), "2012-01-02"),
])
def test_check_report_refuses_another_station_or_day(station: str, day: date, message: str) -> None:
    with pytest.raises(WrongReport, match=message):
        check_report(only(fixture("CLINYC.txt")), station=station, climate_date=day)


def test_check_report_refuses_a_preliminary_report_unless_asked() -> None:
    report = only(fixture("CLIACT.txt"))
    with pytest.raises(ClimateReportError, match="preliminary") as caught:
        check_report(report, station="ACT", climate_date=date(2014, 12, 15))
    assert not isinstance(caught.value, WrongReport)
    check_report(report, station="ACT", climate_date=date(2014, 12, 15), allow_preliminary=True)


def test_check_report_refuses_what_contradicts_itself() -> None:
    report = replace(only(fixture("CLINYC.txt")), inconsistencies=("x",))
    with pytest.raises(ClimateReportError, match="contradicts itself: x"):
        check_report(report, station="NYC", climate_date=date(2013, 1, 2))


@pytest.mark.parametrize(("old", "new", "message"), [
    ("MAXIMUM         33    301 PM", "MAXIMUM         13    301 PM", "below MINIMUM"),
    ("MONTH TO DATE    0.00                      0.24", "MONTH TO DATE    0.00", None),
    ("AVERAGE         28 ", "AVERAGE         29 ", None),  # a degree off the mean of 33 and 22: rounding
    ("AVERAGE         28 ", "AVERAGE         26 ", None),
    ("AVERAGE         28 ", "AVERAGE         30 ", "AVERAGE 30 does not match"),
    ("AVERAGE         28 ", "AVERAGE         MM ", None),
    ("YESTERDAY        0.00          1.92", "YESTERDAY        0.31          1.92", "exceeds the month"),
])
def test_cross_checks(old: str, new: str, message: str | None) -> None:
    text = fixture("CLINYC.txt")
    assert old in text
    found = only(text.replace(old, new)).inconsistencies
    assert (found == ()) if message is None else (message in found[0])


# --- truncated, malformed, ambiguous -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["CLINYC.txt", "CLIANC.txt", "CLIHOU.txt", "CLIBET.txt"])
def test_every_cut_before_the_end_is_refused(name: str) -> None:
    lines = fixture(name).splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if line.startswith("$$"))
    awips = next(i for i, line in enumerate(lines) if line.startswith("CLI"))
    for n in range(end):
        prefix = "".join(lines[:n])
        expected = TruncatedReport if n > awips else MalformedPayload
        with pytest.raises(expected):
            parse_cli_product(prefix)


@pytest.mark.parametrize("cut_after", [
    "MAXIMUM         3", "MAXIMUM", "PRECIPITATION (IN)", "YESTERDAY        0.0",
    "...THE CENTRAL PARK NY CLIMATE SUMMARY FOR JAN"])
def test_cut_inside_the_values(cut_after: str) -> None:
    text = fixture("CLINYC.txt")
    with pytest.raises(TruncatedReport, match="CLINYC"):
        parse_cli_product(text[: text.index(cut_after) + len(cut_after)])


def test_a_cut_multi_station_product_loses_no_summary_silently() -> None:
    # Cut just after Intercontinental's table: had it passed, a one-summary CLIHOU would name it "HOU".
    text = fixture("CLIHOU.txt")
    with pytest.raises(TruncatedReport):
        parse_cli_product(text[: text.index("&&")])


@pytest.mark.parametrize("text", [
    "", "  \n\n", "hello", '{"type": "https://api.weather.gov/problems/NotFound", "status": 404}',
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    "000\nFXUS61 KOKX 030616\nAFDOKX\n\nAREA FORECAST DISCUSSION\nNATIONAL WEATHER SERVICE NEW YORK NY\n$$\n",
])
def test_not_a_cli_product(text: str) -> None:
    with pytest.raises(MalformedPayload):
        parse_cli_product(text)


def test_a_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "CLINYC.bin"
    path.write_bytes(b"\xff\xfe\x00CLINYC\x80")
    with pytest.raises(MalformedPayload):
        parse_cli_file(path)


def test_line_endings_and_case_do_not_matter() -> None:
    text = fixture("CLINYC.txt")
    assert only(text.replace("\n", "\r\n")) == only(text)
    assert only(text.lower()) == only(text)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  MAXIMUM         33    301 PM  68    1876  39     -6       50       \n",
     "  MAXIMUM         33    301 PM  68    1876  39     -6       50       \n"
     "  MAXIMUM         34    301 PM  68    1876  39     -6       50       \n", "given twice"),
    ("MAXIMUM         33    301 PM", "MAXIMUM        301 PM 68", "cannot read the MAXIMUM"),
    ("MAXIMUM         33    301 PM", "MAXIMUM         33.5  301 PM", "cannot read the MAXIMUM"),
    ("MAXIMUM         33    301 PM", "MAXIMUM         301   301 PM", "not a plausible temperature"),
    ("  MAXIMUM         33    301 PM  68    1876  39     -6       50       \n", "  MAXIMUM\n", "no value"),
    ("YESTERDAY        0.00          1.92", "YESTERDAY        0.5           1.92", "read the YESTERDAY"),
    ("YESTERDAY        0.0          11.5", "YESTERDAY        0.05         11.5", "read the YESTERDAY"),
    ("YESTERDAY        0.00          1.92", "YESTERDAY        99.00         1.92", "not plausible"),
    ("116 AM EST", "116 AM XST", "unknown time zone"),
    ("116 AM EST THU", "116 AM EST FRI", "is a THU"),
    ("116 AM EST", "1316 AM EST", "not a time of day"),
    ("JAN 3 2013", "JAN 33 2013", "not a date"),
    ("FOR JANUARY 2 2013", "FOR JANUARY 32 2013", "not a date"),
    ("FOR JANUARY 2 2013", "FOR THE 2ND", "cannot read the climate day"),
    ("116 AM EST THU JAN 3 2013", "", "one issuance line"),
    ("CLINYC\n", "CLINYC\nCLINYC\n", "several AWIPS"),
    ("TEMPERATURE (F)", "TEMPERATURES", "no TEMPERATURE section"),
    ("PRECIPITATION (IN)", "RAIN", "no PRECIPITATION section"),
    (" YESTERDAY  ", " TODAY  ", "found TODAY and YESTERDAY"),
    ("DEGREE DAYS", "SNOWFALL (IN)", "SNOWFALL section twice"),
    ("\n  MONTH TO DATE    0.00                      0.24",
     "\n  MONTH TO DATE    0.00\n  MONTH TO DATE    0.01", "given twice"),
])
def test_ambiguous_or_unreadable_lines_raise(old: str, new: str, message: str) -> None:
    text = fixture("CLINYC.txt")
    assert old in text
    with pytest.raises(ClimateReportError, match=message) as caught:
        parse_cli_product(text.replace(old, new, 1))
    assert not isinstance(caught.value, TruncatedReport | WrongReport)


def test_a_section_after_the_values_table_is_refused() -> None:
    # CLIABY has no SNOWFALL section; one showing up after the table is not a part of it.
    text = fixture("CLIABY.txt").replace("WIND (MPH)", "SNOWFALL (IN)\n  YESTERDAY   1.0")
    with pytest.raises(ClimateReportError, match="SNOWFALL section outside the values table"):
        parse_cli_product(text)


def test_a_summary_line_without_values_anywhere() -> None:
    text = "CLINYC\n116 AM EST THU JAN 3 2013\nTEMPERATURE (F)\n  MAXIMUM 33\n$$\n"
    with pytest.raises(ClimateReportError, match=r"no '\.\.\.THE"):
        parse_cli_product(text)
