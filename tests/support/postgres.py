"""A test database's URL, the ledger on it as the service configures it, plain SQL against it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from api.core.runtime import build_ledger
from api.core.settings import Settings
from ledger.services.application import Ledger


def with_dbname(url: str, dbname: str) -> str:
    """`url` (a URL or a key=value conninfo) naming the database `dbname` instead."""
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)  # type: ignore[arg-type]


def postgres_url(conninfo: str) -> str:
    """A postgresql:// URL for a key=value conninfo (the settings take URLs)."""
    if conninfo.startswith("postgresql://"):
        return conninfo
    params = conninfo_to_dict(conninfo)
    host = str(params.get("host", "127.0.0.1"))
    user = params.get("user", "postgres")
    password = params.get("password")
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return (
            f"postgresql://{auth}/{params['dbname']}?host={quote(host, safe='')}"
            f"&port={params.get('port', 5432)}"
        )
    return f"postgresql://{auth}{host}:{params.get('port', 5432)}/{params['dbname']}"


def open_ledger(database_url: str) -> Ledger:
    """The ledger on `database_url`, built as the service builds it (api/core/runtime.py)."""
    return build_ledger(Settings(database_url=database_url), database_url)


def sql_rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Runs one statement in autocommit; its rows, or none when it returns none."""
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []
