"""Raw-limit routes for the benchmarks, mounted only when `LEDGER_BENCH_ROUTES` is set.

Each does the least a route of its kind can do on the same server, pool and database: parse
the body and INSERT it in one transaction, or SELECT one row by key. The benchmarks compare the
ledger's real routes with these, in the same run, and report the ratio.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Response

from api.http.deps import Caller, RuntimeDep

router = APIRouter(prefix="/bench", include_in_schema=False)

_CREATE = (
    "CREATE TABLE IF NOT EXISTS bench_raw (id uuid PRIMARY KEY, body jsonb NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now())"
)


@router.post("/raw-insert", status_code=201)
def raw_insert(body: dict[str, Any], rt: RuntimeDep, caller: Caller) -> dict[str, str]:
    """One authenticated INSERT of the request body, one commit."""
    row_id = uuid4()
    with rt.ledger.recorder.datastore.transaction(commit=True) as curs:  # type: ignore[attr-defined]
        curs.execute(
            "INSERT INTO bench_raw (id, body) VALUES (%s, %s)",
            (row_id, json.dumps(body, ensure_ascii=False)),
        )
    return {"id": str(row_id)}


@router.get("/raw-select/{system_id}")
def raw_select(system_id: UUID, rt: RuntimeDep, caller: Caller) -> Response:
    """One authenticated SELECT of a system's stored document by key."""
    with rt.reads.transaction(commit=False) as curs:
        curs.execute(
            "SELECT doc::text AS doc FROM status_systems WHERE system_id = %s", (system_id,)
        )
        row = curs.fetchone()
    if row is None:
        return Response(status_code=404)
    return Response(row["doc"], media_type="application/json")


def create_bench_table(rt: Any) -> None:
    with rt.reads.transaction(commit=True) as curs:
        curs.execute(_CREATE)
