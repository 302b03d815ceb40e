"""METAR temperature groups read from ``rawMessage`` (FMH-1 ch. 12), on the recorded payloads and
on hand-written reports for what the recordings do not show."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.nws.metar import MetarReport, celsius_to_fahrenheit, parse_metar
from tests import paths

FIXTURES = paths.FIXTURES / "nws/api"


def raw_message(name: str) -> str:
    payload = json.loads((FIXTURES / name).read_text())
    props = payload["features"][0]["properties"] if "features" in payload else payload["properties"]
    return str(props["rawMessage"])


def parsed(raw: str) -> MetarReport:
    report = parse_metar(raw)
    assert report is not None
    return report


def test_the_recorded_hourly_metar_prefers_the_t_group_over_the_body() -> None:
    # KFLL 271053Z ... 26/23 ... RMK AO2 SLP176 T02560228
    report = parsed(raw_message("stations_observations_metar.json"))
    assert (report.station, report.is_speci) == ("KFLL", False)
    assert (report.day, report.hour, report.minute) == (27, 10, 53)
    assert (report.body_temperature_c, report.body_dewpoint_c) == (26, 23)
    assert (report.precise_temperature_c, report.precise_dewpoint_c) == (25.6, 22.8)
    assert report.temperature_c == 25.6
    assert report.temperature_f == 78.08
    assert report.max_6h_c is None and report.min_6h_c is None
    assert report.max_24h_c is None and report.min_24h_c is None
    assert report.precip_1h_in is None


def test_the_recorded_latest_metar_has_the_six_hour_extremes() -> None:
    # KFLL 022353Z ... 23/18 ... RMK AO2 SLP187 60000 T02280183 10244 20228 53008 $
    report = parsed(raw_message("stations_observations_latest.json"))
    assert (report.day, report.hour, report.minute) == (2, 23, 53)
    assert (report.precise_temperature_c, report.precise_dewpoint_c) == (22.8, 18.3)
    assert (report.max_6h_c, report.min_6h_c) == (24.4, 22.8)
    assert (report.max_6h_f, report.min_6h_f) == (75.92, 73.04)
    # 60000 is a 6-hour precipitation group and 53008 a pressure tendency, not temperatures.
    assert report.max_24h_c is None and report.precip_1h_in is None


def test_an_unreadable_message_is_none() -> None:
    assert raw_message("stations_observations_metar_noparse.json") == "A clearly wrong code"
    assert parse_metar("A clearly wrong code") is None


@pytest.mark.parametrize("raw", [None, "", "   ", 42, b"KFLL 271053Z 26/23", "KFLL", "KFLL 2710Z 26/23",
                                 "271053Z KFLL 26/23", "RMK T02560228"])
def test_what_is_not_a_metar_is_none(raw: object) -> None:
    assert parse_metar(raw) is None


def test_negative_values_use_sign_digit_one_and_m_in_the_body() -> None:
    report = parsed("SPECI KDEN 150517Z 36012KT 1/2SM -SN M05/M12 A3002 RMK AO2 T10501122 11012 21045")
    assert report.is_speci and report.station == "KDEN"
    assert (report.body_temperature_c, report.body_dewpoint_c) == (-5, -12)
    assert (report.precise_temperature_c, report.precise_dewpoint_c) == (-5.0, -12.2)
    assert (report.max_6h_c, report.min_6h_c) == (-1.2, -4.5)
    assert report.temperature_f == 23.0


def test_the_24_hour_group_and_hourly_precipitation() -> None:
    report = parsed("METAR KNYC 010451Z 00000KT 10SM CLR 01/M03 A3021 RMK AO2 SLP231 P0012 "
                    "T00111028 401001015")
    assert (report.max_24h_c, report.min_24h_c) == (10.0, -1.5)
    assert (report.max_24h_f, report.min_24h_f) == (50.0, 29.3)
    assert report.precip_1h_in == 0.12
    assert report.precise_temperature_c == 1.1


def test_a_trace_of_hourly_precipitation_counts_as_zero() -> None:
    assert parsed("KSEA 011253Z 18005KT 5SM -RA 09/08 A2990 RMK AO2 P0000 T00890078").precip_1h_in == 0.0


def test_without_a_t_group_the_whole_degree_body_is_used() -> None:
    report = parsed("KJFK 011251Z 18010KT 10SM FEW250 M02/M08 A3012")
    assert report.precise_temperature_c is None
    assert report.temperature_c == -2.0
    assert report.temperature_f == 28.4


def test_a_t_group_without_dew_point_and_a_body_without_one() -> None:
    report = parsed("KLAX 011253Z 25008KT 10SM 21/ A2992 RMK AO2 T0211")
    assert (report.body_temperature_c, report.body_dewpoint_c) == (21, None)
    assert (report.precise_temperature_c, report.precise_dewpoint_c) == (21.1, None)


def test_missing_body_temperature_and_no_remarks_give_none() -> None:
    report = parsed("KMIA 011253Z AUTO 09010KT 10SM CLR ///// A3001 RMK")
    assert report.temperature_c is None and report.temperature_f is None
    assert report.max_6h_f is None and report.min_24h_f is None


def test_malformed_groups_are_ignored_not_misread() -> None:
    report = parsed("KAUS 011253Z 18010KT 10SM 30/20 A2990 RMK AO2 T025 1024 2022X 40100101 P12 T0300020A")
    assert report.precise_temperature_c is None
    assert report.temperature_c == 30.0
    assert report.max_6h_c is None and report.min_6h_c is None
    assert report.max_24h_c is None and report.precip_1h_in is None


def test_groups_in_the_body_are_not_read_as_remarks() -> None:
    # Five-digit tokens before RMK (here a runway group and a fake one) are not 6-hour extremes.
    report = parsed("KPHL 011254Z 10244 20228 10SM 15/10 A3000")
    assert report.max_6h_c is None and report.min_6h_c is None


def test_celsius_to_fahrenheit_strips_float_noise() -> None:
    assert celsius_to_fahrenheit(25.6) == 78.08
    assert celsius_to_fahrenheit(-40.0) == -40.0
    assert celsius_to_fahrenheit(None) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("KTPM0123456789/ RMKZSPECIAO$-+")), max_size=80))
def test_no_text_makes_the_parser_raise(raw: str) -> None:
    report = parse_metar(raw)
    assert report is None or isinstance(report, MetarReport)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.from_regex(r"[0-9MTP/]{1,10}", fullmatch=True), max_size=12))
def test_any_remarks_after_a_valid_header_give_bounded_values(tokens: list[str]) -> None:
    report = parsed("KNYC 011251Z 18005KT 10SM 20/10 A3000 RMK " + " ".join(tokens))
    for value in (report.precise_temperature_c, report.max_6h_c, report.min_6h_c, report.max_24h_c,
                  report.min_24h_c):
        assert value is None or -99.9 <= value <= 99.9
    assert report.precip_1h_in is None or 0 <= report.precip_1h_in <= 99.99
