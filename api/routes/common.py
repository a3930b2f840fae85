"""What the route modules share: the documented problems and a system's answer with its
`ETag`. Route modules import this module and api/queries, never one another (the import-linter
contracts in pyproject.toml)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from api.core.runtime import Runtime
from api.http.deps import etag
from api.queries.systems import system_body
from ledger.systems import VideoSystem

PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {}}}
    for code, text in {
        401: "no or bad bearer token",
        404: "absent, or outside the caller's scope",
        409: "conflicts with the ledger's state",
        413: "the upload is larger than 102,400 bytes",
        422: "invalid fields, each named in `errors`",
    }.items()
}
WRITE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    412: {
        "description": "If-Match names a stale version",
        "content": {"application/problem+json": {}},
    },
    428: {"description": "If-Match is missing", "content": {"application/problem+json": {}}},
}


def system_response(
    rt: Runtime,
    system: VideoSystem,
    today: Any,
    *,
    status: int = 200,
    location: bool = False,
    unit_verification: bool = False,
) -> JSONResponse:
    """A system's body (`SystemPublic`, api/queries/systems.py) with its `ETag` (and
    `Location`, for a creating write)."""
    content = system_body(rt, system, today=today, unit_verification=unit_verification)
    headers = {"ETag": etag(system.version)}
    if location:
        headers["Location"] = f"/v1/systems/{system.id}"
    return JSONResponse(content, status_code=status, headers=headers)
