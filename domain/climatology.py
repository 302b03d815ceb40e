"""Climatology: a city's monthly normals, the baseline every forecast is measured against."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: Twelve monthly values, January first.
Monthly = Annotated[list[float], Field(min_length=12, max_length=12)]


class ClimateNormals(BaseModel):
    """Monthly climatology (January first), the baseline when forecasts are thin."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    high_f: Monthly
    low_f: Monthly
    precip_in: Monthly
    snow_in: Monthly
