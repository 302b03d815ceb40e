"""A wire-compatible local Kalshi exchange: ``create_app`` serves the Trade API under ``/trade-api/v2``."""

from adapters.kalshi.simulator.app import PREFIX, Simulator, create_app
from adapters.kalshi.simulator.catalog import WeatherTruth
from adapters.kalshi.simulator.faults import Faults

__all__ = ["PREFIX", "Faults", "Simulator", "WeatherTruth", "create_app"]
