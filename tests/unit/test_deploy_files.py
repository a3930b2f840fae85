"""The deployment files hold what docs/operations.md promises: docker-compose.yml (read with
PyYAML: no Docker engine on the test machines), the Prometheus rules (structure, metric names,
and `promtool check rules` when promtool is on the PATH: Debian's `prometheus` package) and the
Grafana dashboard (JSON structure and metric names)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "psvs-ledger.json"
# A value compose takes from the environment (.env), refusing to start without it.
REQUIRED_VARIABLE = re.compile(r"\$\{[A-Z0-9_]+:\?[^}]*\}")
SERVICE_ENV = ("api", "worker")
# user:password@ of a URL whose password may be a ${VAR:?message} (which urlsplit misreads).
URL_USER = re.compile(r"postgresql://(?P<user>[^:@/]+)(?::(?P<password>\$\{[^}]*\}|[^@]*))?@")


def _user(url: str) -> str | None:
    found = URL_USER.match(url)
    return found["user"] if found else None


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _volumes(service: dict[str, Any]) -> dict[str, str]:
    """Named volume -> mount point."""
    found = {}
    for entry in service.get("volumes", []):
        source, target = str(entry).split(":")[:2]
        if not source.startswith((".", "/")):
            found[source] = target
    return found


def test_the_keys_live_in_one_volume_shared_by_api_and_worker() -> None:
    services = _compose()["services"]
    data_dirs = {_env(services[name]).get("LEDGER_DATA_DIR") for name in SERVICE_ENV}
    assert len(data_dirs) == 1 and None not in data_dirs, data_dirs
    (data_dir,) = data_dirs
    assert data_dir is not None
    mounted = [{v for v, t in _volumes(services[name]).items() if t == data_dir}
               for name in SERVICE_ENV]  # fmt: skip
    shared = set.intersection(*mounted)
    assert shared, "api and worker must mount the same named volume at LEDGER_DATA_DIR"
    assert shared <= set(_compose()["volumes"])
    for name in SERVICE_ENV:  # no key set inline, which would bypass the volume
        env = _env(services[name])
        for key in ("LEDGER_SIGNING_KEY", "LEDGER_ENCRYPTION_KEY", "LEDGER_SESSION_KEY"):
            assert key not in env or env[key].startswith(data_dir), (name, key)


def test_production_mode_json_logs_and_the_application_role() -> None:
    services = _compose()["services"]
    grants = services["grants"]
    command = grants["command"]
    assert command[:3] == ["psvs-ledger", "db", "grants"] and "--role" in command
    role = command[command.index("--role") + 1]
    owner = _user(_env(grants)["LEDGER_DATABASE_URL"])
    assert owner and owner != role
    for name in SERVICE_ENV:
        env = _env(services[name])
        assert env["LEDGER_ENVIRONMENT"] == "production", name
        assert env["LEDGER_LOG_FORMAT"] == "json", name
        assert env["LEDGER_CREATE_TABLE"] == "n", name
        assert _user(env["LEDGER_DATABASE_URL"]) == role, name
        depends = services[name]["depends_on"]
        assert depends["grants"]["condition"] == "service_completed_successfully", name
    initdb = (ROOT / "deploy" / "postgres" / "initdb" / "10-roles.sh").read_text()
    assert f"CREATE ROLE {role} LOGIN" in initdb and f"OWNER {owner}" in initdb
    statements = initdb.split("<<'SQL'", 1)[1].upper()  # the SQL, not the comments
    assert " SUPERUSER" not in statements and "CREATEROLE" not in statements


def test_no_password_is_written_in_the_compose_file() -> None:
    for name, service in _compose()["services"].items():
        for key, value in _env(service).items():
            if "PASSWORD" in key:
                assert REQUIRED_VARIABLE.fullmatch(value), (name, key, "literal password")
            if value.startswith("postgresql://"):
                found = URL_USER.match(value)
                password = found["password"] if found else None
                assert password and REQUIRED_VARIABLE.fullmatch(password), (name, key)


def test_a_backup_service_dumps_on_a_schedule_and_prunes() -> None:
    services = _compose()["services"]
    backup = services["backup"]
    assert "schedule.sh" in " ".join(backup["entrypoint"])
    env = _env(backup)
    assert int(env["BACKUP_KEEP_DAYS"]) >= 1 and int(env["BACKUP_INTERVAL_SECONDS"]) >= 60
    assert env["BACKUP_DIR"] in _volumes(backup).values()
    script = (ROOT / "deploy" / "backup" / "backup.sh").read_text()
    assert "pg_dump --format=custom" in script and "-delete" in script
    assert (ROOT / "deploy" / "backup" / "restore.sh").is_file()


def _metric_names() -> set[str]:
    import api.app
    import api.core.metrics  # noqa: F401

    names = set()
    for metric in REGISTRY.collect():
        for suffix in ("", "_total", "_bucket", "_count", "_sum", "_created"):
            names.add(metric.name + suffix)
    return names


def _used(expr: str) -> set[str]:
    return set(re.findall(r"\b(ledger_[a-z_]+)\b", expr))


def test_the_alert_rules_are_well_formed() -> None:
    rules = yaml.safe_load(ALERTS.read_text())
    known = _metric_names()
    names = set()
    assert isinstance(rules["groups"], list) and rules["groups"]
    for group in rules["groups"]:
        assert isinstance(group["name"], str)
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"[A-Z][A-Za-z]+", rule["alert"])
            names.add(rule["alert"])
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            assert _used(rule["expr"]) <= known, _used(rule["expr"]) - known
            assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s"))
            assert rule["labels"]["severity"] in {"critical", "warning"}
            assert rule["annotations"]["summary"]
    assert {"LedgerViewLagging", "LedgerCheckpointOld", "LedgerPoolExhausted"} <= names
    promtool = shutil.which("promtool")
    if promtool is not None:  # Debian's `prometheus` package; the structure is checked anyway
        checked = subprocess.run(
            [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_is_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    known = _metric_names()
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    used: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["type"] in {"timeseries", "stat", "gauge", "table"}
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("x", "y", "w", "h"))
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
        assert panel["targets"]
        for target in panel["targets"]:
            assert target["expr"] and target["refId"]
            used |= _used(target["expr"])
    assert used <= known, used - known
    assert {"ledger_view_lag_events", "ledger_checkpoint_age_seconds",
            "ledger_db_pool_connections"} <= used  # fmt: skip
