"""api.weather.gov JSON, read into Milkbot's values: pure functions, no I/O, no clock.

The wire contract is ``shared/specs/nws-openapi.yaml``; what the API really sends is in the recorded
payloads (``shared/fixtures/nws/api``), and where the two differ we accept both:

* numbers arrive as numbers or as numeric strings (``"temperature": "41"``, ``"value": "10"``);
* ``gridX``/``gridY`` arrive as integers or as digit strings;
* unit codes arrive with the ``wmoUnit:``, ``unit:``, ``wmo:``, ``uc:`` or ``nwsUnit:`` namespace, or
  as bare UCUM codes (``Cel``, ``[degF]``);
* forecast periods carry ``probabilityOfPrecipitation``, ``dewpoint`` and ``relativeHumidity``,
  which the spec's ``GridpointForecastPeriod`` (``additionalProperties: false``) does not list;
* a forecast with no data is a list of periods whose every field is ``null``, and an observation
  with no data has a ``null`` timestamp (or no properties but ``@id``): those placeholders are
  skipped, and a forecast left with no period at all is a :class:`MalformedPayload`.

Units out: temperatures in °F, precipitation and snow in inches, probabilities as fractions 0..1.
``None`` always means "not reported", never zero. Anything that does not have the spec's shape is
a :class:`MalformedPayload` naming what was wrong and where; values are never guessed.

One module per kind of answer, all built on ``json_fields`` (the shared readers of shapes, numbers,
units and times):

* ``points`` - ``/points/{lat},{lon}`` and station collections;
* ``forecast`` - the 12-hour and hourly text forecasts;
* ``gridpoint`` - raw gridpoint layers, with ``intervals`` for their ISO-8601 time spans;
* ``observations`` - station observations and which of them to trade on;
* ``products`` - text-product listings, products and alerts;
* ``problems`` - problem+json error bodies; ``freshness`` - age limits on provider times.

This package re-exports the public names, so callers write ``wire.parse_forecast(...)``.
"""

from adapters.nws.wire.forecast import Forecast, parse_forecast
from adapters.nws.wire.freshness import age, ensure_fresh
from adapters.nws.wire.gridpoint import (
    ACCUMULATION_LAYERS,
    PERCENT_LAYERS,
    TEMPERATURE_LAYERS,
    GridInterval,
    GridLayer,
    Gridpoint,
    parse_gridpoint,
)
from adapters.nws.wire.intervals import HOUR, parse_duration, parse_interval
from adapters.nws.wire.observations import (
    ObservationReading,
    parse_latest_observation,
    parse_observations,
    prefer_metars,
)
from adapters.nws.wire.points import PointInfo, StationInfo, parse_point, parse_stations
from adapters.nws.wire.problems import is_forecast_grid_expired, problem_from_json
from adapters.nws.wire.products import (
    NwsAlert,
    ProductRef,
    TextProduct,
    parse_alerts,
    parse_product,
    parse_product_list,
)

__all__ = [
    "ACCUMULATION_LAYERS",
    "HOUR",
    "PERCENT_LAYERS",
    "TEMPERATURE_LAYERS",
    "Forecast",
    "GridInterval",
    "GridLayer",
    "Gridpoint",
    "NwsAlert",
    "ObservationReading",
    "PointInfo",
    "ProductRef",
    "StationInfo",
    "TextProduct",
    "age",
    "ensure_fresh",
    "is_forecast_grid_expired",
    "parse_alerts",
    "parse_duration",
    "parse_forecast",
    "parse_gridpoint",
    "parse_interval",
    "parse_latest_observation",
    "parse_observations",
    "parse_point",
    "parse_product",
    "parse_product_list",
    "parse_stations",
    "prefer_metars",
    "problem_from_json",
]
