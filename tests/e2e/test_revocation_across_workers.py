"""A revoked token, a disabled account, a removed agent and a rotated-out token are refused by
every process of `psvs-ledger serve --workers 2` within a second (api/identity/tokens.py trusts a
token it looked up in the last half second without reading the ledger again).

The server runs through the fault tests' harness, on an embedded PostgreSQL of its own. Every
request goes on a fresh connection, and the test reads which worker process accepted it from
/proc (the server's side of the connection is a file descriptor of exactly one worker), so it
knows both workers had the token in their caches when it was revoked and that both refuse it
afterwards. While each revocation is made, a thread keeps asking with the token, so the caches
are hot at that moment; one second after the revocation returned, 40 or more requests on
fresh connections must all be refused.

The failed-sign-in throttle (api/identity/throttle.py) counts failures per client address, and every
request here comes from 127.0.0.1: it is raised for this server so that a refused token is
answered 401, not 429, however often it is tried.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support import http as h
from tests.support.faults import Deployment

pytestmark = pytest.mark.postgres

WORKERS = 2
REFUSED_WITHIN = 1.0  # seconds, in every process (api/identity/tokens.py: CACHE_SECONDS = 0.5)
CHECKS = 40  # requests on fresh connections after the second
WARM = 20  # accepted requests before the revocation, from both workers
WARM_SECONDS = 20.0


@dataclass(frozen=True)
class Call:
    """One request: the same one is sent before and after the revocation."""

    method: str
    path: str
    token: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    worker: int | None  # the process id of the worker that accepted the connection
    sent_at: float  # time.monotonic()
    done_at: float
    text: str


class Served:
    """`psvs-ledger serve --workers 2` and a way to ask it on a fresh connection each time."""

    def __init__(self, deployment: Deployment, server: subprocess.Popen[bytes]) -> None:
        self.deployment = deployment
        self.server = server

    # --- which worker ------------------------------------------------------------------------
    def workers(self) -> list[int]:
        pid = self.server.pid
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(p) for p in children.read().split()]

    def worker_of(self, client_port: int) -> int | None:
        """The worker holding the server's end of the connection from `client_port`."""
        inode = None
        with open("/proc/net/tcp") as table:
            for line in table.readlines()[1:]:
                cols = line.split()
                local_port = int(cols[1].split(":")[1], 16)
                remote_port = int(cols[2].split(":")[1], 16)
                if local_port == self.deployment.port and remote_port == client_port:
                    inode = cols[9]
                    break
        if inode is None:
            return None
        wanted = f"socket:[{inode}]"
        for pid in self.workers():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                        return pid
                except OSError:
                    continue
        return None

    # --- requests ----------------------------------------------------------------------------
    def ask(self, call: Call) -> Answer:
        """Sends `call` on a new connection; notes which worker accepted it."""
        connection = http.client.HTTPConnection("127.0.0.1", self.deployment.port, timeout=15)
        headers = h.auth(call.token) if call.token else {}
        payload = None
        if call.body is not None:
            payload = json.dumps(call.body).encode()
            headers["Content-Type"] = "application/json"
        sent_at = time.monotonic()
        try:
            connection.request(call.method, call.path, body=payload, headers=headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
            done_at = time.monotonic()
            assert connection.sock is not None
            worker = self.worker_of(connection.sock.getsockname()[1])
        finally:
            connection.close()
        return Answer(response.status, worker, sent_at, done_at, text[:300])

    def json(self, call: Call, status: int) -> dict[str, Any]:
        answer = self.ask(call)
        assert answer.status == status, answer
        body: dict[str, Any] = json.loads(answer.text) if answer.text else {}
        return body


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    deployment = Deployment()
    deployment.env["LEDGER_AUTH_FAILURE_LIMIT"] = "100000"  # see the module's docstring
    server: subprocess.Popen[bytes] | None = None
    try:
        server = deployment.serve("--workers", str(WORKERS))
        yield Served(deployment, server)
    finally:
        if server is not None and server.poll() is None:
            # SIGTERM: the parent stops its workers and the embedded PostgreSQL it started
            # (the harness's close() SIGKILLs the parent alone, which would orphan them).
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)  # its own session: parent and workers
                server.wait(10)
        deployment.close()


# --- the measurement -------------------------------------------------------------------------


@dataclass
class Hammer:
    """A thread asking `call` on fresh connections, one after another, until stopped."""

    served: Served
    call: Call
    answers: list[Answer] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                answer = self.served.ask(self.call)
            except Exception as error:  # seen by the test, in warm() or after the revocation
                self.error = error
                return
            with self.lock:
                self.answers.append(answer)

    def __enter__(self) -> Hammer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join(30)

    def seen(self) -> list[Answer]:
        with self.lock:
            return list(self.answers)

    def warm(self, accepted: int) -> None:
        """Waits until both workers accepted the call (so both have the token cached)."""
        deadline = time.monotonic() + WARM_SECONDS
        while True:
            assert self.error is None, self.error
            seen = self.seen()
            wrong = [a for a in seen if a.status != accepted]
            assert wrong == [], f"refused before the revocation: {wrong[:3]}"
            if len(seen) >= WARM and len(workers_of(seen, accepted)) == WORKERS:
                return
            assert time.monotonic() < deadline, f"not both workers: {summary(seen)}"
            time.sleep(0.01)


def workers_of(answers: list[Answer], status: int) -> set[int]:
    return {a.worker for a in answers if a.status == status and a.worker is not None}


def summary(answers: list[Answer]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in answers:
        key = f"{a.status}@{a.worker}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def all_answer(served: Served, call: Call, status: int, since: float) -> list[Answer]:
    """`call` on CHECKS fresh connections, and more until both workers answered: each `status`."""
    answers: list[Answer] = []
    while len(answers) < CHECKS or len(workers_of(answers, status)) < WORKERS:
        assert len(answers) < 10 * CHECKS, f"not both workers answered: {summary(answers)}"
        answer = served.ask(call)
        answers.append(answer)
        assert answer.status == status, (
            f"{call.method} {call.path}: {answer.status}, not {status}, from worker "
            f"{answer.worker}, sent {answer.sent_at - since:.3f} s after the revocation "
            f"returned (request {len(answers)}; so far {summary(answers)}): {answer.text}"
        )
    return answers


def refused_within_a_second(
    served: Served,
    call: Call,
    revoke: Callable[[], object],
    *,
    accepted: int = 200,
    refused: int = 401,
    also: list[Call] | None = None,
) -> dict[str, Any]:
    """Both workers accept `call` (and keep accepting it while `revoke` runs); one second after
    `revoke` returned, every request on a fresh connection is refused in both workers.
    Returns how long after `revoke` returned each worker last accepted it."""
    with Hammer(served, call) as hammer:
        hammer.warm(accepted)
        started = time.monotonic()
        revoke()
        returned = time.monotonic()
        time.sleep(max(returned + REFUSED_WITHIN - time.monotonic(), 0))
    assert hammer.error is None, hammer.error
    seen = hammer.seen()
    before = [a for a in seen if a.done_at < started]
    assert len(before) >= WARM and all(a.status == accepted for a in before), summary(before)
    assert len(workers_of(before, accepted)) == WORKERS, summary(before)
    # A refusal shows the revocation was committed before it was answered: from then on (or
    # from `revoke`'s return, if sooner) every request sent a second later must be refused.
    refusals = [a for a in seen if a.status == refused]
    assert refusals != [], (f"nothing refused within {REFUSED_WITHIN} s", summary(seen))
    revoked_by = min(returned, min(a.done_at for a in refusals))
    late = [a for a in seen if a.sent_at >= revoked_by + REFUSED_WITHIN and a.status != refused]
    assert late == [], (f"accepted more than {REFUSED_WITHIN} s after the revocation", late)

    checks = all_answer(served, call, refused, since=returned)
    for other in also or []:
        checks += all_answer(served, other, refused, since=returned)
    last_accepted = {
        str(worker): round(max(a.sent_at for a in seen if a.worker == worker and
                               a.status == accepted) - returned, 3)
        for worker in workers_of(seen, accepted)
    }  # fmt: skip
    figures = {
        "revocation_took_s": round(returned - started, 3),
        "first_refused_after_return_s": round(min(a.sent_at for a in refusals) - returned, 3),
        "last_accepted_after_return_s": last_accepted,
        "answers_during": summary(seen),
        "answers_after": summary(checks),
    }
    print(call.path, figures)
    return figures


# --- accounts ----------------------------------------------------------------------------


def person(served: Served, name: str) -> tuple[str, str]:
    """A person account opened over HTTP: (account_id, token)."""
    created = served.json(
        Call("POST", "/v1/accounts", "", {"kind": "person", "name": name, "phone": "13912345678"}),
        201,
    )
    return str(created["account_id"]), str(created["token"])


def legal_person(served: Served) -> tuple[str, str, str]:
    """A unit's legal-person account opened with the command line: (account_id, token, uscc)."""
    uscc = h.make_uscc()
    out = served.deployment.cli(
        "accounts", "create", "--role", "legal_person", "--uscc", uscc, "--name", "某公司"
    ).strip().splitlines()  # fmt: skip
    assert out[0].startswith("account "), out
    return out[0].split()[1], out[-1], uscc


def upload_letter(served: Served, token: str) -> str:
    boundary = "psvs-revocation-test"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="letter.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n".encode()
        + h.PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    connection = http.client.HTTPConnection("127.0.0.1", served.deployment.port, timeout=15)
    try:
        connection.request(
            "POST", "/v1/attachments", body=body,
            headers={**h.auth(token), "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )  # fmt: skip
        response = connection.getresponse()
        text = response.read().decode()
    finally:
        connection.close()
    assert response.status == 201, text
    return str(json.loads(text)["attachment_id"])


def me(token: str) -> Call:
    return Call("GET", "/v1/accounts/me", token)


# --- the tests ---------------------------------------------------------------------------


def test_a_token_revoked_with_the_command_line_is_refused_by_every_worker(
    served: Served,
) -> None:
    _, token = person(served, "王五")

    refused_within_a_second(
        served,
        me(token),
        # `--token=TOKEN`: a token may begin with "-", which `--token TOKEN` takes for an option.
        lambda: served.deployment.cli("accounts", "revoke-token", f"--token={token}"),
    )


def test_a_disabled_account_is_refused_by_every_worker_and_enabled_again(
    served: Served,
) -> None:
    account_id, token, _ = legal_person(served)

    refused_within_a_second(
        served, me(token), lambda: served.deployment.cli("accounts", "disable", account_id)
    )

    rows = [
        line.split("\t")
        for line in served.deployment.cli("accounts", "list").splitlines()
        if line.startswith(account_id)
    ]
    assert [row[2] for row in rows] == ["disabled"], rows

    served.deployment.cli("accounts", "enable", account_id)
    enabled = time.monotonic()
    time.sleep(max(enabled + REFUSED_WITHIN - time.monotonic(), 0))
    all_answer(served, me(token), 200, since=enabled)


def test_a_removed_agent_is_refused_the_unit_by_every_worker(served: Served) -> None:
    _, legal_token, uscc = legal_person(served)
    served.json(Call("POST", "/v1/units", legal_token, h.unit_body(uscc)), 201)
    agent_id, agent_token = person(served, "赵六")
    letter = upload_letter(served, legal_token)
    added = Call(
        "POST",
        f"/v1/units/{uscc}/agents",
        legal_token,
        {"authorization_letter_id": letter, "account_id": agent_id},
    )
    agents = served.json(added, 201)["agent_count"]

    def filing(n: int) -> Call:
        return Call("POST", "/v1/systems", agent_token, h.filing_body(uscc, 1, name=f"系统 {n}"))

    filed: list[Answer] = []  # the agent files for the unit, through both workers
    while len(workers_of(filed, 201)) < WORKERS:
        assert len(filed) < 40, summary(filed)
        filed.append(served.ask(filing(len(filed))))
        assert filed[-1].status == 201, filed[-1]

    def remove() -> None:
        gone = Call("DELETE", f"/v1/units/{uscc}/agents/{agent_id}", legal_token)
        assert served.json(gone, 200)["agent_count"] == agents - 1

    refused_within_a_second(
        served,
        Call("GET", f"/v1/units/{uscc}", agent_token),
        remove,
        refused=404,
        also=[filing(1000)],  # POST /v1/systems for the unit: 404, never 201
    )
    served.json(Call("GET", f"/v1/units/{uscc}", legal_token), 200)  # the unit is still there


def test_a_rotated_token_is_refused_by_every_worker(served: Served) -> None:
    _, old = person(served, "钱七")
    new: list[str] = []

    def rotate() -> None:
        new.append(str(served.json(Call("POST", "/v1/accounts/me/token", old), 201)["token"]))

    refused_within_a_second(served, me(old), rotate)
    all_answer(served, me(new[0]), 200, since=time.monotonic())
