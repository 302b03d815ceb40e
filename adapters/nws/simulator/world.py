"""The simulated geography: the configured cities' forecast points, grid squares, stations and CLI sites.

``World.build(config, seed)`` lays them out once per app; handlers look grids up by ``(wfo, x, y)``,
points by rounded ``(lat, lon)`` and stations by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.nws.simulator.products import office_of
from adapters.nws.simulator.weather import WeatherGenerator
from domain.config import CityConfig, MilkbotConfig
from domain.events.base import MarketKind


@dataclass(frozen=True)
class Grid:
    """One forecast point and its 2.5 km grid square."""

    city: str
    wfo: str
    x: int
    y: int
    latitude: float
    longitude: float
    station: str  # the settlement station this point forecasts for

    @property
    def path(self) -> str:
        return f"/gridpoints/{self.wfo}/{self.x},{self.y}"


@dataclass(frozen=True)
class Station:
    id: str
    city: str
    latitude: float
    longitude: float
    name: str


@dataclass
class World:
    """What the simulator serves: the config's points, grids, stations and CLI sites."""

    config: MilkbotConfig
    weather: WeatherGenerator
    seed: int
    grids: dict[tuple[str, int, int], Grid] = field(default_factory=dict)
    points: dict[tuple[float, float], Grid] = field(default_factory=dict)
    stations: dict[str, Station] = field(default_factory=dict)
    cli_sites: dict[str, str] = field(default_factory=dict)  # site -> city code

    @classmethod
    def build(cls, config: MilkbotConfig, seed: int) -> World:
        world = cls(config, WeatherGenerator(config.cities, seed=seed), seed)
        for city in config.cities:
            office = office_of(city)
            for kind in MarketKind:
                source = city.source(kind)
                if source is None:
                    continue
                lat, lon = city.forecast_point(kind)
                world.cli_sites.setdefault(source.cli_site, city.code)
                world.stations.setdefault(source.station, Station(
                    source.station, city.code, lat, lon, f"{city.name} ({source.station})"))
                key = (round(lat, 4), round(lon, 4))
                if key in world.points:
                    continue
                # Grid indices: stable, plausible (0..~300), distinct within an office.
                x = 10 + int(abs(lon) * 1000) % 200
                y = 10 + int(abs(lat) * 1000) % 200
                while (office.wfo, x, y) in world.grids:
                    x += 1
                grid = Grid(city.code, office.wfo, x, y, lat, lon, source.station)
                world.grids[(office.wfo, x, y)] = grid
                world.points[key] = grid
        return world

    def city(self, code: str) -> CityConfig:
        return self.config.city(code)
