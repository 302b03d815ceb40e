"""The ld+json framing of CLI text products: the entry ``/products/types/CLI/locations/{site}`` lists
and ``/products/{id}`` extends with its ``productText``."""

from __future__ import annotations

from typing import Any

from adapters.nws.simulator.geojson import _iso
from adapters.nws.simulator.products import CliProduct

_PRODUCT_CONTEXT: dict[str, Any] = {"@version": "1.1", "@vocab": "https://api.weather.gov/ontology#"}


def product_ref(p: CliProduct, root: str) -> dict[str, Any]:
    return {
        "@id": f"{root}/products/{p.id}",
        "id": p.id,
        "wmoCollectiveId": p.office.wmo_heading,
        "issuingOffice": f"K{p.office.wfo}",
        "issuanceTime": _iso(p.issuance_time),
        "productCode": "CLI",
        "productName": "Climatological Report (Daily)",
    }
