"""Property-based fuzzing of intake's API from its own OpenAPI document (in-process ASGI, fake
Kafka log): whatever is sent, intake never answers 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from tests.intake.intake_fakes import NOW, FakeIntakeLog, bearer

APP = create_app(
    IntakeSettings(rate_limit_burst=1_000_000), log=FakeIntakeLog(), clock=lambda: NOW
)
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)


@SCHEMA.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_intake_fail(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=bearer("ref-north-gp"), checks=[not_a_server_error])
