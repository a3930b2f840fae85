"""Benchmark results: each figure beside its raw limit from the same run, with the ratio."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Figure:
    metric: str
    ours: float
    limit: float
    unit: str

    @property
    def ratio(self) -> float:
        return self.ours / self.limit if self.limit else 0.0


def write(name: str, figures: list[Figure], *, context: dict[str, object]) -> Path:
    """Writes `bench/results/<name>.json` and prints the same as a table."""
    RESULTS.mkdir(exist_ok=True)
    rows = [{**asdict(f), "ratio": round(f.ratio, 3)} for f in figures]
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\n{name}  ({', '.join(f'{k}={v}' for k, v in context.items())})")
    print(f"{'metric':44} {'ours':>12} {'limit':>12} {'unit':>10} {'ratio':>7}")
    for f in figures:
        print(
            f"{f.metric:44} {_shown(f.ours):>12} {_shown(f.limit):>12} {f.unit:>10} {f.ratio:>7.3f}"
        )
    print(f"written to {path}")
    return path


def _shown(value: float) -> str:
    """Whole numbers from 100 up, two decimals below (a 1.3 ms figure must not print as 1)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
