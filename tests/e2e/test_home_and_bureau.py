"""`GET /` leads to the officer pages; the pages' titles name the configured bureau."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from api.core.runtime import Runtime
from api.core.settings import Settings


def test_root_redirects_to_the_officer_pages(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code in (303, 307)
    assert answer.headers["location"] == "/officer/"
    # Followed all the way: the login page (no session yet), not a JSON 404.
    landed = client.get("/")
    assert landed.status_code == 200
    assert "text/html" in landed.headers["content-type"]


def test_the_default_bureau_is_named_in_titles(client: TestClient) -> None:
    assert "<title>" in (page := client.get("/officer/login").text)
    assert "· 南岸区分局</title>" in page


def test_the_bureau_is_a_setting(settings: Settings, runtime: Runtime) -> None:
    named = settings.model_copy(update={"bureau_name": "重庆市公安局渝中区分局"})
    with TestClient(create_app(named, runtime=runtime)) as other:
        page = other.get("/officer/login").text
    assert "· 重庆市公安局渝中区分局</title>" in page
    assert "南岸区分局" not in page
