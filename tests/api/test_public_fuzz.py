"""Schemathesis over the public app's own OpenAPI document: whatever it is sent, valid or not, the
app never answers 5xx, answers only the statuses and content types it documents, and every answer
matches its schema (whose objects forbid undocumented properties).

Schemathesis's pytest integration (``from_fixture``) does not run under this pytest, so each
operation's strategies (positive and negative) are driven by Hypothesis here directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.public_app import create_public_app
from api.read_model import open_read_model, prepare
from milkbot.bootstrap import bootstrap
from milkbot.settings import load_config
from tests.api.conftest import secret_settings
from tests.api.scenario import seed

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
OPERATIONS = ["/api/public/summary", "/api/public/cities", "/api/public/trades",
              "/api/public/equity", "/api/public/calibration", "/api/public/execution", "/healthz",
              "/"]
WITH_PARAMETERS = ["/api/public/trades", "/api/public/equity", "/api/public/calibration"]


@pytest.fixture(scope="module")
def public_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    settings_ = secret_settings(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path)
    config, _ = load_config(settings_)
    with bootstrap(settings_) as app:
        seed(app.ledger)
        app.runner().catch_up()
        prepare(app)
        read_model = open_read_model(app)
        try:
            public = create_public_app(read_model, config=config, delay_minutes=60,
                                       ledger_position=app.ledger.store.max_position)
            yield schemathesis.openapi.from_asgi("/api/public/openapi.json", public)
        finally:
            read_model.close()


def test_the_document_lists_every_public_endpoint(public_schema: Any) -> None:
    operations = [result.ok() for result in public_schema.get_all_operations()]
    assert {o.path for o in operations} == set(OPERATIONS)
    assert {o.path for o in operations if o.query} == set(WITH_PARAMETERS)


@pytest.mark.parametrize(("path", "mode"), [
    *((path, GenerationMode.POSITIVE) for path in OPERATIONS),
    # Invalid requests, for the operations that have parameters to get wrong.
    *((path, GenerationMode.NEGATIVE) for path in WITH_PARAMETERS),
])
def test_the_public_api_holds_to_its_document(public_schema: Any, path: str,
                                              mode: GenerationMode) -> None:
    operation = public_schema[path]["GET"]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    call()
