"""/docs and /redoc work without internet: every asset they reference is served by the service
itself; the OpenAPI documents declare bearer JWT and API key security so "Authorize" works."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from fastapi.testclient import TestClient

from services.common.auth import Principal, authenticate
from services.common.docs import service_api
from tests.intake.intake_fakes import running_intake

SERVICES = Path(__file__).resolve().parents[2] / "services"
_REFERENCE = re.compile(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""")


def referenced(html: str) -> list[str]:
    """Every script, stylesheet, icon and spec URL a docs page loads."""
    return _REFERENCE.findall(html)


def check_docs_pages(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        urls = referenced(html)
        assert urls, page
        for url in urls:
            assert url.startswith("/"), f"{page} loads {url} from elsewhere"
            assert client.get(url).status_code == 200, f"{page}: {url} is not served"
        assert "fonts.googleapis" not in html and "cdn." not in html


def test_intake_docs_load_only_local_assets_and_offer_both_credentials() -> None:
    with running_intake() as (client, _):
        check_docs_pages(client)
        spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == schemes["bearerAuth"] | {"type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] | {"in": "header", "name": "X-API-Key"} == schemes["apiKey"]
    submit = spec["paths"]["/referrals"]["post"]
    assert submit["security"] == [{"bearerAuth": []}, {"apiKey": []}]
    names = {p["name"].lower() for p in submit.get("parameters", [])}
    assert not names & {"authorization", "x-api-key"}  # Authorize supplies them
    assert "security" not in spec["paths"]["/health"]["get"]  # public stays public


def test_a_service_api_route_with_authentication_gets_the_security_requirement() -> None:
    api = service_api(title="probe")

    @api.get("/mine")
    def mine(principal: Annotated[Principal, Depends(authenticate)]) -> str:
        return principal.subject

    with TestClient(api) as client:
        check_docs_pages(client)
        spec = client.get("/openapi.json").json()
    assert spec["paths"]["/mine"]["get"]["security"] == [{"bearerAuth": []}, {"apiKey": []}]


def test_every_service_builds_its_app_with_service_api() -> None:
    direct = [str(p.relative_to(SERVICES)) for p in SERVICES.rglob("*.py")
              if re.search(r"\bFastAPI\(", p.read_text()) and p.name != "docs.py"]
    assert direct == [], "these build FastAPI apps whose /docs need a CDN"
