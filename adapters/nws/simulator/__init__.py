"""A wire-compatible local api.weather.gov: seeded weather (``weather``), CLI text (``products``) and
the starlette app serving both (``app``). Imports nothing at import time beyond its own modules."""

from adapters.nws.simulator.app import Faults, create_app
from adapters.nws.simulator.weather import DayForecast, DayWeather, WeatherGenerator

__all__ = ["DayForecast", "DayWeather", "Faults", "WeatherGenerator", "create_app"]
