"""`psvs-ledger export snapshot`: a snapshot loaded, then fed from its position, is live."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from psycopg.sql import SQL

from api.cli.snapshot import snapshot_to
from api.core.runtime import Runtime
from api.core.settings import Settings
from ledger.values import Role
from projections.status import StatusView
from tests.support.http import (
    auth,
    cancel,
    change,
    change_body,
    device,
    filed,
    police_token,
    today,
    unit_account,
)

# What a consumer keeps of each system, and compares with the status view.
KEPT = ("version", "status", "name", "address", "division_code", "unit_uscc", "filing_number")


def _activity(client: TestClient, runtime: Runtime, round_no: int) -> None:
    """Two units at once: each files two systems, changes one (a device swapped), cancels
    the other; an officer orders a correction on the first."""
    officer = police_token(runtime, Role.OFFICER, "500108")
    errors: list[BaseException] = []

    def unit(n: int) -> None:
        try:
            account = unit_account(client)
            kept = filed(client, account, name=f"系统{round_no}-{n}-甲").json()
            gone = filed(client, account, name=f"系统{round_no}-{n}-乙").json()
            body = {
                **change_body(name=f"系统{round_no}-{n}-甲（更名）"),
                "devices_added": [device(9)],
                "devices_removed": [kept["devices"][0]["key"]],
            }
            assert change(client, account.token, kept["system_id"], body, '"1"').status_code == 200
            assert cancel(client, account.token, gone["system_id"], '"1"').status_code == 200
            order = {"reason": "核对设备", "due_on": "2099-01-01"}
            ordered = client.post(
                f"/v1/systems/{kept['system_id']}/correction-orders",
                json=order,
                headers=auth(officer),
            )
            assert ordered.status_code == 201, ordered.text
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=unit, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def _kept(system: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: system.get(k) for k in KEPT},
        "devices": sorted(d["key"] for d in system["devices"]),
    }


def _fold(state: dict[str, Any] | None, item: dict[str, Any]) -> dict[str, Any]:
    """What a consumer does with one feed item of a system."""
    data = item["data"]
    current = dict(state or {"status": "unfiled", "filing_number": None, "devices": []})
    if item["type"] == "filed":
        current.update(data["filing"], status="filed")
        current["devices"] = sorted(d["key"] for d in data["devices"])
    elif item["type"] == "discovered":
        current.update(data["facts"])
    elif item["type"] == "changed":
        current.update(data["changes"])
        removed = set(data["devices_removed"])
        added = [d["key"] for d in data["devices_added"]]
        current["devices"] = sorted([k for k in current["devices"] if k not in removed] + added)
    elif item["type"] == "cancelled":
        current["status"] = "cancelled"
    current["version"] = item["seq"]
    return {k: current.get(k) for k in (*KEPT, "devices")}


def _export(settings: Settings, path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": str(settings.database_url),
        "LEDGER_DATA_DIR": str(settings.data_dir),
    }
    command = [sys.executable, "-m", "api.cli.main", "export", "snapshot", str(path)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_a_snapshot_loaded_and_fed_from_its_position_equals_the_status_view(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    _activity(client, runtime, 1)
    path = tmp_path / "snapshot.ndjson"
    writers = threading.Thread(target=_activity, args=(client, runtime, 2))

    writers.start()  # the second round commits while the snapshot is taken
    snapshot_to(runtime, path, today=today())
    writers.join()
    _activity(client, runtime, 3)  # and the third after it

    header, *lines = path.read_text(encoding="utf-8").splitlines()
    position = json.loads(header)["position"]
    loaded = {s["system_id"]: _kept(s) for s in map(json.loads, lines)}
    admin = police_token(runtime, Role.ADMIN, None)
    feed = client.get("/v1/feed", params={"after": position, "limit": 10_000}, headers=auth(admin))
    assert feed.status_code == 200, feed.text
    for item in map(json.loads, feed.text.splitlines()):
        if item["system_id"] is not None:
            loaded[item["system_id"]] = _fold(loaded.get(item["system_id"]), item)
    assert runtime.wait_for_views(runtime.head(), 10, names=("status",))
    with runtime.reads.transaction(commit=False) as curs:
        curs.execute(
            SQL("SELECT system_id, doc FROM {t}").format(t=StatusView.read_table("systems"))
        )
        live = {str(row["system_id"]): _kept(row["doc"]) for row in curs.fetchall()}

    assert 4 <= len(lines) < 12 and len(live) == 12
    assert loaded == live


def test_a_snapshot_line_is_a_system_as_the_api_reads_it(
    client: TestClient, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    account = unit_account(client)
    system = filed(client, account).json()
    path = tmp_path / "snapshot.ndjson"

    exported = _export(settings, path)

    assert exported.returncode == 0, exported.stderr
    header, line = path.read_text(encoding="utf-8").splitlines()
    read = client.get(f"/v1/systems/{system['system_id']}", headers=account.headers).json()
    assert json.loads(header)["position"] >= 1
    assert json.loads(line) == read
