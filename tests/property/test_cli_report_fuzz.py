"""The CLI parser on mutated real products: it returns reports or raises a typed error, nothing else.

Mutations are what a damaged transmission looks like: lines deleted, duplicated, swapped or replaced
(with noise or with lines that look like CLI rows), characters deleted, inserted or replaced, and
text cut anywhere.
"""

from __future__ import annotations

import json
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.nws.cli_report import ClimateReport, parse_cli_product, report_json
from adapters.nws.errors import ClimateReportError, MalformedPayload
from tests import paths

FIXTURES = paths.FIXTURES / "nws/cli"
NAMES = sorted(p.name for p in FIXTURES.glob("*.txt"))
#: Characters a damaged product plausibly holds, plus a few that trip naive parsers (other scripts'
#: digits, which int() reads; NUL; a non-breaking space; a line separator splitlines() honours).
CHARS = "0123456789 .-:*$&()/RTMAPYESTDXN\n\t" + "\u0663\x00\u00a0\u2028"
#: Lines that look like parts of a CLI product, so mutations reach the deeper branches.
CLI_LINES = [
    "$$", "&&", "CLINYC", "CLIHOU", "CDUS41 KOKX 030616 CCA", "116 AM EST THU JAN 3 2013",
    "1:16 PM AKDT FRI FEB 29 2013", "TEMPERATURE (F)", "PRECIPITATION (IN)", "SNOWFALL (IN)",
    " YESTERDAY", " TODAY", "  MAXIMUM         MM    301 PM", "  MINIMUM        -12R  3:01 AM",
    "  MAXIMUM        301 PM", "  YESTERDAY        T", "  TODAY            0.05*", "  MONTH TO DATE   12.0 R",
    "  MONTH TO DATE", "  AVERAGE  99", "VALID TODAY AS OF 0400 PM LOCAL TIME.", "DEGREE DAYS",
    "...THE CENTRAL PARK NY CLIMATE SUMMARY FOR JANUARY 2 2013...",
    "...THE KING SALMON CLIMATE SUMMARY FOR FEBRUARY 30 2017 CORRECTION...",
    "...THE X CLIMATE SUMMARY FOR YESTERDAY...", "..................................................",
]

line_op = st.tuples(st.sampled_from(["delete_line", "duplicate_line"]), st.integers(0, 2000))
swap_op = st.tuples(st.just("swap_lines"), st.integers(0, 2000), st.integers(0, 2000))
replace_line_op = st.tuples(st.just("replace_line"), st.integers(0, 2000),
                            st.one_of(st.sampled_from(CLI_LINES), st.text(CHARS, max_size=40)))
char_op = st.tuples(st.sampled_from(["delete_char", "insert_char", "replace_char"]),
                    st.integers(0, 30_000), st.sampled_from(CHARS))
cut_op = st.tuples(st.just("truncate"), st.integers(0, 30_000))
mutation = st.one_of(line_op, swap_op, replace_line_op, char_op, cut_op)


@cache
def original(name: str) -> str:
    return (FIXTURES / name).read_text()


def mutate(text: str, op: tuple[object, ...]) -> str:
    kind = op[0]
    lines = text.split("\n")
    if kind in ("delete_line", "duplicate_line", "replace_line", "swap_lines"):
        i = int(str(op[1])) % len(lines)
        if kind == "delete_line":
            del lines[i]
        elif kind == "duplicate_line":
            lines.insert(i, lines[i])
        elif kind == "replace_line":
            lines[i] = str(op[2])
        else:
            j = int(str(op[2])) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    i = int(str(op[1])) % (len(text) + 1)
    if kind == "truncate":
        return text[:i]
    if kind == "delete_char":
        return text[:i] + text[i + 1:]
    if kind == "insert_char":
        return text[:i] + str(op[2]) + text[i:]
    return text[:i] + str(op[2]) + text[i + 1:]


def outcome(text: str) -> list[ClimateReport] | None:
    """The reports, or None for a typed refusal; any other exception fails the property."""
    try:
        reports = parse_cli_product(text)
    except (ClimateReportError, MalformedPayload):
        return None
    assert reports, "a product that parses has at least one summary"
    for report in reports:
        shown = json.loads(json.dumps(report_json(report)))
        assert set(shown) == {"station", "date", "preliminary", "correction", "max_temp_f", "min_temp_f",
                              "precip_in", "precip_month_in", "snow_in", "snow_month_in"}
        assert report.issued_at.utcoffset() is not None
        for amount in (report.precip_in, report.precip_month_in, report.snow_in, report.snow_month_in):
            assert amount is None or amount >= 0
    return reports


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(NAMES), ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_products_parse_or_raise_a_typed_error(name: str, ops: list[tuple[object, ...]]) -> None:
    text = original(name)
    for op in ops:
        text = mutate(text, op)
    outcome(text)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(NAMES), data=st.data())
def test_a_cut_product_gives_the_whole_products_numbers_or_none(name: str, data: st.DataObject) -> None:
    text = original(name)
    cut = data.draw(st.integers(0, len(text)), label="cut")
    reports = outcome(text[:cut])
    # Only a cut past the closing "$$" can parse, and then it must say exactly what the whole product says.
    assert reports is None or reports == outcome(text)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(NAMES), line=st.integers(0, 2000))
def test_a_lost_line_never_invents_a_number(name: str, line: int) -> None:
    whole = outcome(original(name))
    damaged = outcome(mutate(original(name), ("delete_line", line)))
    if whole is None or damaged is None:
        return
    # Losing a line may lose a value (None) or a summary, never turn one value into another.
    before = {r.station: r for r in whole}
    for report in damaged:
        if report.station not in before:
            continue
        shown, was = report_json(report), report_json(before[report.station])
        for key in ("max_temp_f", "min_temp_f", "precip_in", "precip_month_in", "snow_in", "snow_month_in"):
            assert shown[key] in (None, was[key]), key
