"""The officer pages over plain HTTP (no browser): sessions, CSRF, redirects, forms' errors,
fragments and exports. The same pages in a real browser are in test_officer_browser.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.core.runtime import Runtime
from ledger.values import Role
from tests.support.codes import NANAN
from tests.support.http import auth, filed, police_token, today, unit_account
from tests.support.pages import csrf_of, log_in


@pytest.fixture
def officer(runtime: Runtime) -> str:
    return police_token(runtime, Role.OFFICER, NANAN, name="李警官")


def test_a_page_without_a_session_redirects_to_the_login(client: TestClient) -> None:
    response = client.get("/officer/systems?q=x", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/officer/login?next=%2Fofficer%2Fsystems%3Fq%3Dx"


def test_an_htmx_request_without_a_session_is_told_to_navigate_to_the_login(
    client: TestClient,
) -> None:
    response = client.get("/officer/overdue?kind=unfiled", headers={"HX-Request": "true"})

    assert response.headers["HX-Redirect"].startswith("/officer/login?next=")


def test_login_sets_a_signed_httponly_samesite_cookie_that_holds_no_token(
    client: TestClient,
    officer: str,
) -> None:
    page = client.get("/officer/login")
    response = client.post(
        "/officer/login",
        data={"token": officer, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/officer/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/officer" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test below
    assert officer not in cookie
    assert "李警官" in client.get("/officer/").text


def test_the_cookie_is_secure_when_served_over_https(
    client: TestClient,
    officer: str,
) -> None:
    client.base_url = client.base_url.copy_with(scheme="https")

    response = client.get("/officer/login")

    assert "Secure" in response.headers["set-cookie"]


def test_a_forged_cookie_is_no_session(client: TestClient) -> None:
    forged = "eyJjc3JmIjoieCIsImFjY291bnQiOiJ5In0.forged"
    client.cookies.set("psvs_officer", forged, path="/officer")

    response = client.get("/officer/", follow_redirects=False)

    assert response.status_code == 303


def test_a_login_form_without_its_csrf_token_is_refused(
    client: TestClient,
    officer: str,
) -> None:
    client.get("/officer/login")

    response = client.post("/officer/login", data={"token": officer}, follow_redirects=False)

    assert response.status_code == 403
    assert client.get("/officer/", follow_redirects=False).status_code == 303


def test_a_bad_token_and_a_unit_account_are_refused_next_to_the_token_field(
    client: TestClient,
) -> None:
    unit = unit_account(client)
    for token, message in (("not-a-token", "令牌无效"), (unit.token, "仅供公安机关账户")):
        page = client.get("/officer/login")
        response = client.post(
            "/officer/login", data={"token": token, "csrf_token": csrf_of(page.text)}
        )
        assert response.status_code == 401
        assert re.search(f'data-error-for="token">[^<]*{message}', response.text), response.text


def test_logout_ends_the_session(client: TestClient, officer: str) -> None:
    log_in(client, officer)
    home = client.get("/officer/")

    client.post("/officer/logout", data={"csrf_token": csrf_of(home.text)})

    assert client.get("/officer/", follow_redirects=False).status_code == 303


def test_a_correction_order_form_shows_each_error_next_to_its_field_and_writes_nothing(
    client: TestClient,
    runtime: Runtime,
    officer: str,
) -> None:
    unit = unit_account(client)
    system_id = filed(client, unit).json()["system_id"]
    log_in(client, officer)
    page = client.get(f"/officer/systems/{system_id}")

    response = client.post(
        f"/officer/systems/{system_id}/correction-orders",
        data={"csrf_token": csrf_of(page.text), "reason": "", "due_on": today().isoformat()},
    )

    assert response.status_code == 422
    assert re.search(r'data-error-for="reason">必填', response.text)
    assert re.search(r'data-error-for="due_on">应晚于下达之日', response.text)
    read = client.get(f"/v1/systems/{system_id}", headers=auth(unit.token)).json()
    assert read["correction_orders"] == []


def test_a_correction_order_form_orders_and_the_timeline_shows_it(
    client: TestClient,
    officer: str,
) -> None:
    unit = unit_account(client)
    system_id = filed(client, unit).json()["system_id"]
    log_in(client, officer)
    page = client.get(f"/officer/systems/{system_id}")
    due = (today() + timedelta(days=20)).isoformat()

    response = client.post(
        f"/officer/systems/{system_id}/correction-orders",
        data={"csrf_token": csrf_of(page.text), "reason": "补充设备清单", "due_on": due},
        follow_redirects=False,
    )

    assert response.status_code == 303
    shown = client.get(response.headers["location"]).text
    assert "已下达责令限期改正通知" in shown
    assert 'data-type="correction_ordered"' in shown and "补充设备清单" in shown
    read = client.get(f"/v1/systems/{system_id}", headers=auth(unit.token)).json()
    assert [order["due_on"] for order in read["correction_orders"]] == [due]


def test_a_form_posted_without_the_sessions_csrf_token_writes_nothing(
    client: TestClient,
    officer: str,
) -> None:
    unit = unit_account(client)
    system_id = filed(client, unit).json()["system_id"]
    log_in(client, officer)

    response = client.post(
        f"/officer/systems/{system_id}/inspections",
        data={"csrf_token": "guessed", "inspected_on": today().isoformat(), "result": "consistent"},
    )

    assert response.status_code == 403
    read = client.get(f"/v1/systems/{system_id}", headers=auth(unit.token)).json()
    assert read["last_inspection"] is None


def test_a_list_asked_for_by_htmx_is_a_fragment(client: TestClient, officer: str) -> None:
    log_in(client, officer)

    fragment = client.get("/officer/overdue?kind=due_soon", headers={"HX-Request": "true"})
    page = client.get("/officer/overdue?kind=due_soon")

    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "即将到期" in fragment.text
    assert "<html" in page.text and 'id="overdue-list"' in page.text


def test_the_overdue_export_is_a_csv_with_chinese_headers(
    client: TestClient,
    officer: str,
) -> None:
    log_in(client, officer)

    response = client.get("/officer/overdue/export?format=csv&kind=unfiled")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "系统名称" in response.content.decode("utf-8-sig").splitlines()[0]


def test_a_system_outside_the_district_is_not_found(
    client: TestClient,
    runtime: Runtime,
) -> None:
    unit = unit_account(client)
    system_id = filed(client, unit).json()["system_id"]
    log_in(client, police_token(runtime, Role.OFFICER, "500106"))

    response = client.get(f"/officer/systems/{system_id}")

    assert response.status_code == 404
    assert "没有找到" in response.text


def officer_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every page route under /officer/ (the static files aside)."""
    from tests.support.http import app_routes

    return sorted(
        (method, path)
        for method, path in app_routes(client.app)  # type: ignore[arg-type]
        if path.startswith("/officer/") and not path.startswith("/officer/static")
    )


def test_every_page_but_the_login_sends_a_visitor_without_a_session_to_the_login(
    client: TestClient, officer: str
) -> None:
    unit = unit_account(client)
    system_id = filed(client, unit).json()["system_id"]
    routes = officer_routes(client)
    assert len(routes) >= 14, routes

    for method, path in routes:
        url = path.replace("{system_id}", system_id).replace("{uscc}", unit.uscc)
        response = client.request(method, url, follow_redirects=False)
        if path in ("/officer/login", "/officer/logout"):  # open to all; a POST needs CSRF
            assert response.status_code == (200 if method == "GET" else 403), (method, path)
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/officer/login?next="), path
