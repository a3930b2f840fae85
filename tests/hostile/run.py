"""Schemathesis (all phases, every check) against a real `psvs-ledger serve` on its own
embedded PostgreSQL, with two unit accounts configured as peers so the object-level
authorisation check runs. Bounded: a few examples per operation and a time limit.

    .venv/bin/python -m tests.hostile.run [--max-examples N] [--seconds S]

Exits with schemathesis' status (0: no failure). The rate limits are switched off for this
run (tests/e2e/test_limits.py covers them): schemathesis opens many accounts from one address;
so is the sign-in throttle, and rotating the run's own token is left out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import http as h
from tests.support.faults import Deployment, unit_client

REPORTS = Path("test-artifacts/schemathesis").resolve()
CONFIG = """\
[auth.wfc]
path = "{wfc}"
peers = ["unit_a", "unit_b"]

# A schema-valid request may still be refused by rules JSON Schema cannot state: check
# characters (USCC, ID card), the GB/T 2260 table, a place type of its category, dates against
# today, attachments that must exist and be the caller's, If-Match versions, cursors this
# service gave out, an upload's real media type (docs/contract.md, "General": 422 naming every bad
# field, 412, 428, 400, 415).
[checks.positive_data_acceptance]
expected-statuses = ["2XX", 400, 401, 403, 404, 409, 412, 415, 422, 428, 429, 503]

# An upload's `file` is bytes on the wire: an "integer" 213 sent as a part is a 3-byte CSV file,
# indistinguishable from one, so "schema-violating" uploads cannot be told apart here.
[[operations]]
include-path = "/v1/attachments"
checks.negative_data_rejection.enabled = false

# Rotating the token revokes the one the run signs in with: everything after would be 401.
# (tests/e2e/test_identity.py and the authorisation matrix cover rotation.)
# (One filter only: several in one block select what any of them matches.)
[[operations]]
include-name = "POST /v1/accounts/me/token"
enabled = false

# `follow=true` keeps the feed open for ever (by design): fuzz the feed's pages only.
[[operations]]
include-path = "/v1/feed"
parameters = {{ follow = false }}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=900)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    deployment = Deployment()
    # The checks send missing and made-up tokens on purpose: the sign-in throttle
    # (tests/e2e/test_throttle.py) would answer 429 to everything after the fifth.
    deployment.env.update(
        LEDGER_ACCOUNT_RATE_PER_MINUTE="0",
        LEDGER_TOKEN_RATE_PER_SECOND="0",
        LEDGER_AUTH_FAILURE_LIMIT="1000000",
        LEDGER_ACCOUNTS_PER_ADDRESS_PER_DAY="0",
        LEDGER_UPLOAD_RATE_PER_MINUTE="0",
        LEDGER_UPLOADS_PER_DAY="0",
    )
    try:
        deployment.serve()
        users = {}
        for name in ("unit_a", "unit_b"):
            token, uscc = unit_client(deployment)
            users[name] = token
            # A system of each peer, so the lists return objects whose owner schemathesis knows
            # and the object-level authorisation check has something to try across peers.
            filed = httpx.post(
                f"{deployment.url}/v1/systems", json=h.filing_body(uscc), headers=h.auth(token)
            )
            assert filed.status_code == 201, filed.text
        wfc = deployment.base / "auth.json"
        wfc.write_text(json.dumps({"auth": [
            {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
            for name, token in users.items()
        ]}))  # fmt: skip
        config = deployment.base / "schemathesis.toml"
        config.write_text(CONFIG.format(wfc=wfc))
        command = [
            str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
            "run", f"{deployment.url}/openapi.json",
            "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", str(args.max_examples), "--request-timeout", "20",
            "--report", "junit", "--report-dir", str(REPORTS),
            "--output-sanitize", "true",
            *(["--seed", str(args.seed)] if args.seed is not None else []),
        ]  # fmt: skip
        try:
            # In the run's own directory: schemathesis keeps a cache (.schemathesis/) there.
            return subprocess.run(command, timeout=args.seconds, cwd=deployment.base).returncode
        except subprocess.TimeoutExpired:
            print(f"schemathesis ran past {args.seconds} s", file=sys.stderr)
            return 1
        finally:
            print(deployment.log("serve.log")[-2000:], file=sys.stderr)
    finally:
        deployment.close()


if __name__ == "__main__":
    sys.exit(main())
