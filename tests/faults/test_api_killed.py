"""SIGKILL the API while clients file with Idempotency-Keys and retry on any error."""

from __future__ import annotations

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
FILINGS = 15  # per client


def test_killing_the_api_loses_no_acknowledged_filing_and_doubles_none(
    deployment: Deployment,
) -> None:
    server = deployment.serve()
    admin = deployment.token("admin")
    units = [unit_client(deployment) for _ in range(CLIENTS)]
    tally = Tally()

    threads = run_clients(deployment.url, units, filings=FILINGS, tally=tally, seconds=240)
    kills = 0
    for threshold in (20, 60):  # kill twice, once early and once in full flow
        wait_for(lambda t=threshold: len(tally.acknowledged) >= t, 120, f"{threshold} filings")
        deployment.kill(server)
        kills += 1
        server = deployment.serve()
    for thread in threads:
        thread.join(240)

    figures = check_nothing_lost(deployment.url, admin, tally, CLIENTS * FILINGS)
    report("api_sigkill", {"kills": kills, **figures})
    assert tally.transport_errors > 0  # the kills did hit requests in flight
