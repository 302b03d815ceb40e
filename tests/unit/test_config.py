from __future__ import annotations

from pathlib import Path

import pytest

from domain.config import ConfigError, parse_config
from domain.events import MarketKind, config_version_of
from milkbot.settings import SHIPPED_CONFIG, Settings, SettingsError, load_config

SHIPPED = SHIPPED_CONFIG.read_text()

ELEVENTH_CITY = """
[[cities]]
code = "BOS"
name = "Boston"
timezone = "America/New_York"
cluster = "northeast"
latitude = 42.3606
longitude = -71.0097

[cities.daily_high]
series = "KXHIGHBOS"
cli_site = "BOS"
station = "KBOS"

[cities.normals]
source = "test"
high_f = [36, 39, 45, 56, 66, 76, 82, 80, 73, 62, 52, 42]
low_f = [23, 25, 31, 41, 50, 60, 66, 65, 58, 47, 38, 29]
precip_in = [3.4, 3.2, 4.2, 3.6, 3.3, 3.9, 3.5, 3.4, 3.5, 4.0, 3.7, 4.1]
snow_in = [13, 11, 8, 2, 0, 0, 0, 0, 0, 0, 1, 9]
"""


def test_the_shipped_configuration_has_the_ten_cities_and_their_settlement_sites() -> None:
    config, version = parse_config(SHIPPED)
    assert [c.code for c in config.cities] == ["NYC", "CHI", "MIA", "AUS", "LAX", "DEN", "PHL",
                                               "HOU", "SEA", "DCA"]
    chicago = config.city("CHI")
    assert (chicago.daily_high.cli_site, chicago.monthly_rain.cli_site) == ("MDW", "ORD")
    assert chicago.forecast_point(MarketKind.MONTHLY_RAIN) != chicago.forecast_point(
        MarketKind.DAILY_HIGH)
    assert config.city("PHL").monthly_rain is None
    assert version == config_version_of(SHIPPED)


def test_the_shipped_models_and_strategies_are_explicit() -> None:
    config, _ = parse_config(SHIPPED)
    assert [s.name for s in config.configured_strategies()] == ["taker", "maker"]
    assert config.models.daily_high.sigma_next_day == 2.5
    assert config.models.ensemble.prior == {"nws": 0.9, "climatology": 0.1}


def test_an_eleventh_city_is_one_config_entry() -> None:
    config, version = parse_config(SHIPPED + ELEVENTH_CITY)
    assert len(config.cities) == 11
    assert config.city("BOS").source(MarketKind.DAILY_HIGH).station == "KBOS"
    assert version != parse_config(SHIPPED)[1]


@pytest.mark.parametrize(("text", "message"), [
    ("[[cities]\n", "not valid TOML"),
    ("[ledger]\nprojection_batch = 5000\n", "cities"),
    (SHIPPED + ELEVENTH_CITY.replace("BOS", "NYC"), "city codes repeat"),
    (SHIPPED.replace('series = "KXHIGHNY"', 'series = "HIGHNY"', 1), "series"),
    (SHIPPED.replace('name = "maker"', 'name = "makr"'), "no strategy named 'makr'"),
    (SHIPPED.replace("min_edge = 0.03", "min_edg = 0.03"), "strategy 'taker': unknown parameter 'min_edg'"),
    (SHIPPED.replace('name = "maker"', 'name = "x"\nmodule = "no.such.module"'), "cannot import"),
    (SHIPPED.replace("sigma_same_day = 2.0", "sigma_same_day = -2.0"), "sigma_same_day"),
    (SHIPPED.replace("prior = { nws = 0.9, climatology = 0.1 }", "prior = { nws = -1.0 }"),
     "prior weights"),
])
def test_a_bad_configuration_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def test_a_missing_config_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="MILKBOT_CONFIG"):
        load_config(Settings(config=tmp_path / "nowhere.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text("cities = 3\n")
    with pytest.raises(SettingsError, match="MILKBOT_CONFIG"):
        load_config(Settings(config=broken))
