"""The real OpenID provider of provider.mjs, started as a subprocess for the identity tests.

`running_provider()` starts `node provider.mjs PORT` on a free loopback port, waits for its
discovery document and stops it by its process id. `Provider.id_token(subject)` signs a subject
in the way a browser would (authorization request, the development login and consent forms,
the redirect with the code) and exchanges the code at the token endpoint for the ID token the
provider signs. Nothing here signs a token: that is the provider's job.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.processes import free_port

HERE = Path(__file__).resolve().parents[1] / "oidc_provider"  # provider.mjs and its key
SIGNING_KEY = HERE / "signing-key.json"  # the provider's own key (for the negative cases)
START_SECONDS = 30.0
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    redirect_uri: str


LEDGER = Client("psvs-ledger", "psvs-ledger-test-secret", "http://127.0.0.1/oidc/callback")
ANOTHER = Client(
    "another-portal", "another-portal-test-secret", "http://127.0.0.1/another/callback"
)
# The subjects provider.mjs knows, and the claims it asserts about them.
UNIT = "unit-nanan-1"
UNIT_USCC = "91500108MA6XC00011"
SECOND_UNIT = "unit-nanan-2"
SECOND_UNIT_USCC = "91500108MA6XC00024"
NO_USCC = "unit-no-uscc"
BAD_USCC = "unit-bad-uscc"


@dataclass(frozen=True)
class Provider:
    issuer: str
    pid: int

    def id_token(self, subject: str, client: Client = LEDGER) -> str:
        """An ID token the provider issues to `client` after `subject` logs in and consents."""
        with httpx.Client(base_url=self.issuer, follow_redirects=False, timeout=10) as http:
            state = secrets.token_urlsafe(8)
            response = http.get(
                "/auth",
                params={
                    "client_id": client.client_id,
                    "response_type": "code",
                    "scope": "openid profile uscc",
                    "redirect_uri": client.redirect_uri,
                    "state": state,
                    "nonce": secrets.token_urlsafe(8),
                },
            )
            code = _code_after_interactions(http, response, subject, client, state)
            tokens = http.post(
                "/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": client.redirect_uri,
                },
                auth=(client.client_id, client.secret),
            )
            assert tokens.status_code == 200, tokens.text
            id_token: str = tokens.json()["id_token"]
            return id_token

    @staticmethod
    def signing_key() -> dict[str, Any]:
        """The provider's private signing JWK (its `kid` is what the provider's tokens name)."""
        key: dict[str, Any] = json.loads(SIGNING_KEY.read_text())["keys"][0]
        return key


def _code_after_interactions(
    http: httpx.Client, response: httpx.Response, subject: str, client: Client, state: str
) -> str:
    """Follows the provider's redirects, submitting its login and consent forms, until it
    redirects to the client with the authorization code."""
    for _ in range(12):
        location = response.headers.get("location")
        if location is not None and location.startswith(client.redirect_uri):
            query = parse_qs(urlsplit(location).query)
            assert query.get("state") == [state], location
            assert "code" in query, f"the provider refused: {location}"
            code: str = query["code"][0]
            return code
        if response.is_redirect and location is not None:
            response = http.get(location)
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
        prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
        assert form is not None and prompt is not None, response.text[:500]
        data = {"prompt": prompt.group(1)}
        if prompt.group(1) == "login":
            data.update(login=subject, password="any")  # the development login takes any
        response = http.post(form.group(1), data=data)
    raise AssertionError("the provider never redirected back with a code")


@contextmanager
def running_provider() -> Iterator[Provider]:
    """provider.mjs on a free loopback port until the block ends (stopped by its pid)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("the OpenID provider tests need Node.js (`node` on PATH): install it")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(
            "the OpenID provider is not installed: `make test` installs it, or run"
            " `npm ci --no-audit --no-fund --prefix tests/oidc_provider`"
        )
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [node, str(HERE / "provider.mjs"), str(port)],
            cwd=HERE,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_discovery(issuer, process, output)
            yield Provider(issuer=issuer, pid=process.pid)
        finally:
            process.terminate()  # SIGTERM to this process id only
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_discovery(issuer: str, process: subprocess.Popen[bytes], output: Any) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output.seek(0)
            log = output.read().decode(errors="replace")
            pytest.fail(f"the OpenID provider exited with {process.returncode}:\n{log}")
        try:
            response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
            if response.status_code == 200 and response.json().get("issuer") == issuer:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the OpenID provider did not serve its discovery document in {START_SECONDS} s")
