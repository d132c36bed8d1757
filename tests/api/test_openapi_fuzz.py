"""Schemathesis over the OpenAPI document: every response is documented, none is a 500.

Valid and invalid requests are generated for every operation (a bounded number each),
sent to the app in process, and each response is checked against the document.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.main import create_app
from api.settings import Settings
from app.live import LiveRegion
from tests.history.stores import history_service, recorded_store
from tests.planning.region import build as build_region

# per operation and mode: the whole run stays well under a minute (more: set the env)
EXAMPLES = int(os.environ.get("GEODX_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def api_schema(results_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    # /lookup answers from a prepared region (any one: it reads no results)
    live = LiveRegion.open(build_region(tmp_path_factory.mktemp("live")).folder)
    store = recorded_store(results_dir, tmp_path_factory.mktemp("history"))
    app = create_app(
        Settings(results_dir=results_dir, default_limit=2, max_limit=3),
        services={"history": history_service(store), "live": lambda _: live},
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi(api_schema: Any, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to make invalid

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case: Any) -> None:
            # A bbox whose south is above its north passes the schema (OpenAPI cannot
            # compare two items of a value) and is refused with a documented 400.
            bbox = mode is GenerationMode.POSITIVE and "bbox" in (case.query or {})
            case.call_and_validate(
                excluded_checks=[positive_data_acceptance] if bbox else []
            )

        check()
