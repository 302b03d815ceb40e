"""Text products (listings and ``/products/{id}``, text untouched) and active alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.nws.errors import MalformedPayload
from adapters.nws.wire.json_fields import (
    _feature_properties,
    _optional_str,
    _optional_time,
    _required_str,
    _required_time,
)


@dataclass(frozen=True)
class ProductRef:
    """One entry of a text-product listing (``/products/types/{type}/locations/{site}``)."""

    id: str
    issuance_time: datetime
    product_code: str | None
    issuing_office: str | None
    wmo_collective_id: str | None
    product_name: str | None


@dataclass(frozen=True)
class TextProduct:
    id: str
    issuance_time: datetime | None
    product_code: str | None
    issuing_office: str | None
    text: str


@dataclass(frozen=True)
class NwsAlert:
    id: str
    event: str
    severity: str | None
    urgency: str | None
    certainty: str | None
    status: str | None
    message_type: str | None
    headline: str | None
    area: str | None
    sent: datetime | None
    effective: datetime | None
    onset: datetime | None
    expires: datetime | None
    ends: datetime | None
    affected_zones: tuple[str, ...] = ()


def parse_product_list(payload: Any, *, source: str = "products") -> tuple[ProductRef, ...]:
    """A text-product listing (``@graph``), newest ``issuanceTime`` first."""
    where = f"product list {source}"
    if not isinstance(payload, dict):
        raise MalformedPayload(f"{where} is not a JSON object")
    graph = payload.get("@graph")
    if not isinstance(graph, list):
        raise MalformedPayload(f"{where} has no '@graph' list")
    refs = []
    for index, raw in enumerate(graph):
        item = f"{where} entry {index}"
        if not isinstance(raw, dict):
            raise MalformedPayload(f"{item} is not an object")
        refs.append(ProductRef(
            id=_required_str(raw, "id", item),
            issuance_time=_required_time(raw, "issuanceTime", item),
            product_code=_optional_str(raw, "productCode", item),
            issuing_office=_optional_str(raw, "issuingOffice", item),
            wmo_collective_id=_optional_str(raw, "wmoCollectiveId", item),
            product_name=_optional_str(raw, "productName", item),
        ))
    return tuple(sorted(refs, key=lambda r: (r.issuance_time, r.id), reverse=True))


def parse_product(payload: Any, *, source: str = "product") -> TextProduct:
    """``/products/{id}``: the product's text, untouched (parsing it is the CLI parser's job)."""
    where = f"product {source}"
    if not isinstance(payload, dict):
        raise MalformedPayload(f"{where} is not a JSON object")
    text = payload.get("productText")
    if not isinstance(text, str) or not text.strip():
        raise MalformedPayload(f"{where} has no 'productText'")
    return TextProduct(id=_required_str(payload, "id", where),
                       issuance_time=_optional_time(payload, "issuanceTime", where),
                       product_code=_optional_str(payload, "productCode", where),
                       issuing_office=_optional_str(payload, "issuingOffice", where),
                       text=text)


def parse_alerts(payload: Any, *, source: str = "alerts") -> tuple[NwsAlert, ...]:
    """An alert collection (``/alerts/active/zone/{zone}``), in API order."""
    where = f"alert collection {source}"
    alerts = []
    for index, props in enumerate(_feature_properties(payload, where)):
        item = f"{where} feature {index}"
        zones = props.get("affectedZones") or []
        if not isinstance(zones, list) or not all(isinstance(z, str) for z in zones):
            raise MalformedPayload(f"{item} 'affectedZones' is not a list of URLs")
        alerts.append(NwsAlert(
            id=_required_str(props, "id", item), event=_required_str(props, "event", item),
            severity=_optional_str(props, "severity", item), urgency=_optional_str(props, "urgency", item),
            certainty=_optional_str(props, "certainty", item), status=_optional_str(props, "status", item),
            message_type=_optional_str(props, "messageType", item),
            headline=_optional_str(props, "headline", item), area=_optional_str(props, "areaDesc", item),
            sent=_optional_time(props, "sent", item), effective=_optional_time(props, "effective", item),
            onset=_optional_time(props, "onset", item), expires=_optional_time(props, "expires", item),
            ends=_optional_time(props, "ends", item), affected_zones=tuple(zones),
        ))
    return tuple(alerts)
