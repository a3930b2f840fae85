"""PostgreSQL stopped in immediate mode under load, then started again."""

from __future__ import annotations

import httpx
import pytest

from tests.support.faults import (
    Deployment,
    Tally,
    check_nothing_lost,
    report,
    run_clients,
    unit_client,
    wait_for,
)

pytestmark = pytest.mark.faults
CLIENTS = 8
FILINGS = 15


def _views_at_head(url: str, admin: str) -> bool:
    """Whether every view has reached the head (the details of /readyz are an admin's)."""
    answer = httpx.get(f"{url}/readyz", headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    body = answer.json()
    return answer.status_code == 200 and all(v["lag"] == 0 for v in body["views"])


def test_a_database_restart_answers_503_meanwhile_and_loses_nothing(
    deployment: Deployment,
) -> None:
    deployment.serve()
    admin = deployment.token("admin")
    units = [unit_client(deployment) for _ in range(CLIENTS)]
    tally = Tally()

    threads = run_clients(deployment.url, units, filings=FILINGS, tally=tally, seconds=240)
    wait_for(lambda: len(tally.acknowledged) >= 30, 120, "30 filings")
    socket_dir = deployment.stop_postgres_immediately()
    # The gap lasts until the clients have been told 503 forty times (or 20 s have passed).
    wait_for(lambda: tally.statuses[503] >= 40, 20, "503 answers while the database is down", tally)
    down = httpx.get(f"{deployment.url}/readyz", timeout=10)
    deployment.start_postgres(socket_dir)
    for thread in threads:
        thread.join(240)
    wait_for(
        lambda: _views_at_head(deployment.url, admin), 60, "the views to catch up by themselves"
    )

    figures = check_nothing_lost(deployment.url, admin, tally, CLIENTS * FILINGS)
    report("postgres_immediate_stop", figures)
    assert down.status_code == 503 and down.headers["retry-after"]
    assert tally.bad_503s == []  # every 503 was problem+json with Retry-After
    assert set(tally.statuses) <= {201, 503}, tally.statuses
