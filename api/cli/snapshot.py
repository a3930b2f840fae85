"""`psvs-ledger export snapshot FILE`: every system's current state as of one log position
(the snapshot itself is read by api/queries/snapshot.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api.core.runtime import open_runtime
from api.core.settings import Settings
from api.queries.snapshot import snapshot_to

__all__ = ["main", "snapshot_to"]


def main(args: argparse.Namespace, settings: Settings) -> int:
    """`psvs-ledger export snapshot FILE`."""
    from api.http.deps import today

    rt = open_runtime(settings, projections=False)
    try:
        position, count = snapshot_to(rt, Path(args.file), today=today())
    finally:
        rt.close()
    print(f"snapshot of {count} systems as of position {position} written to {args.file}")
    print(f"follow on with GET /v1/feed?after={position}", file=sys.stderr)
    return 0
