"""`bench.scale` on a real PostgreSQL: the mix it files, every overdue kind, and resuming."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from api.core.runtime import Runtime, open_runtime
from api.core.settings import Settings
from bench.scale import DistrictLoader, assign, division_sizes
from bench.scale_story import END, system_id
from ledger.access import Reach
from projections.overdue import KINDS, OverdueView, overdue_items
from projections.rebuild import rebuild

pytestmark = pytest.mark.postgres


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = open_runtime(settings, projections=False)
    try:
        yield runtime
    finally:
        runtime.close()


# Small batches: a save of a few hundred events through psycopg's pipeline over the embedded
# server's Unix socket stalled (server and client both waiting to read) in this test.
BATCH = 20


def _load(runtime: Runtime, sizes: dict[str, int], batch: int = BATCH) -> int:
    events = 0
    for division, target in sizes.items():
        loader = DistrictLoader(runtime.ledger, division, target, resume=False)
        while loader.done < loader.target:
            events += loader.step(batch)
    return events


def test_the_districts_split_the_systems_exactly_and_nanan_holds_a_tenth() -> None:
    sizes = division_sizes(1_000_000)
    assert sum(sizes.values()) == 1_000_000
    assert sizes["500108"] == 100_000
    owned = assign(sizes, 2)
    assert sorted(c for o in owned for c in o) == sorted(sizes)
    assert max(sum(o.values()) for o in owned) <= 520_000


def test_a_loaded_log_has_the_mix_and_every_overdue_kind(runtime: Runtime) -> None:
    sizes = division_sizes(600)
    events = _load(runtime, sizes)
    assert 4.0 <= events / 600 <= 5.0
    rebuild(
        app=runtime.ledger,
        registry=runtime.registry,
        kind=OverdueView,
        open_view=runtime.open_view,
        rules_toml=None,
    )
    # A fixed day just after the last one drawn: the lists do not depend on the clock.
    items, _next = overdue_items(
        runtime.reads,
        as_of=date(2026, 11, 23),
        rules=runtime.rules,
        reach=Reach.division("50"),
        division_code=None,
        kind=None,
        after=None,
        limit=100_000,
    )
    assert {item["kind"] for item in items} == set(KINDS)
    assert date(2026, 11, 23) > END


def test_a_resumed_district_continues_after_its_last_saved_batch(runtime: Runtime) -> None:
    first = DistrictLoader(runtime.ledger, "500108", 250, resume=False)
    for _ in range(10):
        first.step(BATCH)
    again = DistrictLoader(runtime.ledger, "500108", 250, resume=True)
    assert again.done == 200
    assert again.issued() == first.issued()
    while again.done < again.target:
        again.step(BATCH)
    recorder = runtime.ledger.recorder
    assert recorder.select_events(system_id("500108", 249), limit=1)
    assert not recorder.select_events(system_id("500108", 250), limit=1)
