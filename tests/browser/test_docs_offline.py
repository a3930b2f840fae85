"""/docs and /redoc in Debian's chromium with the network unplugged: every request that does not
go to the served app (127.0.0.1) is aborted, and the viewers still render the API."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from tests.support.processes import Served

pytestmark = pytest.mark.browser

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def blocked(page: Page, served: Served) -> Iterator[list[str]]:
    """Aborts every request to anywhere but the loopback address; the list of those refused."""
    refused: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_loopback)
    yield refused


def test_swagger_ui_renders_the_operations_offline(
    page: Page, blocked: list[str], console_errors: list[str]
) -> None:
    page.goto("/docs")

    expect(page.locator(".opblock-summary-path", has_text="/v1/systems").first).to_be_visible()
    assert page.locator(".opblock").count() >= 20
    expect(page.locator("button.authorize")).to_be_visible()  # the bearer scheme
    assert blocked == []
    assert console_errors == []


def test_swagger_ui_shows_a_request_bodys_example_and_vocabulary(
    page: Page, blocked: list[str]
) -> None:
    page.goto("/docs#/systems/file_system_v1_systems_post")  # deep link: opens the operation
    operation = page.locator("#operations-systems-file_system_v1_systems_post")
    expect(operation).to_be_visible()
    if "is-open" not in (operation.get_attribute("class") or ""):
        operation.locator(".opblock-summary-control").click()
    body = operation.locator(".opblock-section-request-body")
    expect(body).to_contain_text("91500108MA5U7Q2K1B")  # the example, Chongqing 南岸区
    body.get_by_text("Schema", exact=True).first.click()
    body.get_by_text("place_category", exact=True).first.click()
    expect(body).to_contain_text("二类：人员聚集场所")  # the vocabulary, with its labels
    assert blocked == []


def test_redoc_renders_the_operations_offline(
    page: Page, blocked: list[str], console_errors: list[str]
) -> None:
    page.goto("/redoc")

    expect(page.locator("h1", has_text="psvs-ledger")).to_be_visible()
    expect(page.get_by_text("/v1/systems", exact=False).first).to_be_attached()
    assert page.locator("[data-section-id^='operation/']").count() >= 20
    # ReDoc's own "API docs by Redocly" logo is the one thing it asks of the internet, and
    # without it the page only lacks that small image.
    assert set(blocked) <= {REDOC_LOGO}, blocked
    assert [e for e in console_errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
