"""The officer pages through a TestClient: the CSRF field of a form, and signing in."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has a form with a CSRF field"
    return found.group(1)


def log_in(client: TestClient, token: str) -> None:
    """Signs in at /officer/login with `token`, as the login form does (303 to /officer/)."""
    page = client.get("/officer/login")
    response = client.post(
        "/officer/login",
        data={"token": token, "csrf_token": csrf_of(page.text), "next": "/officer/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
