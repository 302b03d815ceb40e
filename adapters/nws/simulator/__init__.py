"""A wire-compatible local api.weather.gov: seeded weather (``weather``), CLI text (``products``) and
the starlette app serving both (``app``). The app's parts: ``faults`` (switchable misbehaviour),
``world`` (points, grids, stations), ``responses`` and ``middleware`` (headers, problem+json, refusals),
and the bodies (``geojson`` shared pieces; ``point_bodies``, ``forecast_bodies``,
``observation_bodies``, ``product_bodies``). Imports nothing at import time beyond its own modules."""

from adapters.nws.simulator.app import Faults, create_app
from adapters.nws.simulator.weather import DayForecast, DayWeather, WeatherGenerator

__all__ = ["DayForecast", "DayWeather", "Faults", "WeatherGenerator", "create_app"]
