"""The service's JSON log lines, as a test reads them from captured output."""

from __future__ import annotations

import json
from typing import Any


def security_lines(err: str) -> list[dict[str, Any]]:
    """The JSON lines of `err` marked `"security": true`."""
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("security") is True]
