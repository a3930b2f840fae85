"""The operators' command line: `psvs-ledger --help`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from api.cli import projections as cli_projections
from api.cli.accounts import add_account_commands
from api.cli.attachments import add_attachment_commands
from api.cli.export import add_export_commands
from api.cli.help import Parser, count, port
from api.cli.units import add_unit_commands
from api.core.preflight import ConfigError
from api.core.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from api.core.logs import uvicorn_log_config

    if args.workers > 1:
        from api.core.serving import serve_workers

        return serve_workers(
            settings,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=args.workers,
            projections=not args.no_projections,
        )
    # The views are kept by a projection worker process that this one supervises.
    app = create_app(settings, projections="elsewhere" if args.no_projections else "worker")
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level,
        log_config=uvicorn_log_config(settings.log_level),  # JSON lines too
        access_log=False,
        # Feed followers (GET /v1/feed?follow=true) never end by themselves: on SIGTERM the
        # server would wait for them forever; cut them after a short grace instead.
        timeout_graceful_shutdown=5,
    )
    return 0


def _projections_run(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    from api.core.runtime import open_runtime

    runtime = open_runtime(settings, projections=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime.start_projections()
    try:
        while not stop.wait(1.0):
            for health in runtime.health():
                if health["error"]:
                    print(json.dumps(health), file=sys.stderr)
                    return 1
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from api.core import logs
    from api.core.runtime import open_runtime
    from api.queries.verification import describe, public_report, signer_of, verify

    logs.configure(settings.log_level)
    runtime = open_runtime(settings, projections=False)
    try:
        signer = signer_of(runtime)
        if args.public_key:
            print(f"key id {signer.key_id}\nbase64 {signer.public_key_base64}")
            print(signer.public_key_pem, end="")
            return 0
        result = verify(runtime)
    finally:
        runtime.close()
    if args.json:
        print(json.dumps(public_report(result, signer)))
    else:
        print("\n".join(describe(result, signer)))
    return 0 if result.verified else 1


def _db_grants(args: argparse.Namespace, settings: Settings) -> int:
    from api.core.database import grant_statements, ledger_datastore, protect_event_tables
    from api.core.runtime import build_ledger

    ledger = build_ledger(settings)
    try:
        protect_event_tables(ledger)
        with ledger_datastore(ledger).transaction(commit=True) as curs:
            for statement in grant_statements(ledger, args.role):
                print(f"{statement.as_string(curs)};")
                if not args.dry_run:
                    curs.execute(statement)
    finally:
        ledger.close()
    print(
        f"-- run the service as {args.role} with LEDGER_CREATE_TABLE=n: the event tables stay"
        " with their owner",
        file=sys.stderr,
    )
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from api.demo.command import run

    return run(args, settings)


def _export_snapshot(args: argparse.Namespace, settings: Settings) -> int:
    from api.cli.snapshot import main as snapshot

    return snapshot(args, settings)


def parser() -> argparse.ArgumentParser:
    top = Parser(
        prog="psvs-ledger",
        description="Filing ledger for public security video systems. Settings come from "
        "LEDGER_* environment variables (LEDGER_DATABASE_URL, LEDGER_RULES, ...).",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (and its projection worker)")
    serve.add_argument("--host", help="the address to listen on (default: LEDGER_HOST, 127.0.0.1)")
    serve.add_argument(
        "--port", type=port, help="the port to listen on (default: LEDGER_PORT, 8000)"
    )
    serve.add_argument(
        "--workers",
        type=count,
        default=1,
        help="API processes sharing the port; the views are kept by one projection worker",
    )
    serve.add_argument(
        "--no-projections",
        action="store_true",
        help="leave the views to `psvs-ledger projections run`",
    )
    serve.set_defaults(handler=_serve)

    add_account_commands(commands)
    add_unit_commands(commands)
    add_attachment_commands(commands)

    projections = commands.add_parser("projections", help="the views built from the log")
    projection_commands = projections.add_subparsers(dest="projections_command", required=True)
    run = projection_commands.add_parser("run", help="keep the views up to date")
    run.set_defaults(handler=_projections_run)
    status = projection_commands.add_parser(
        "status", help="position, lag, rules and state of each view"
    )
    status.set_defaults(handler=cli_projections.status)
    rebuild = projection_commands.add_parser(
        "rebuild",
        help="rebuild a view from the start of the log beside the live one, then switch to it",
    )
    rebuild.add_argument("name", help="the view: status, overdue, audit or chain")
    rebuild.add_argument(
        "--rules",
        type=Path,
        help="a rules file the view applies from now on (default: the rules it has)",
    )
    rebuild.set_defaults(handler=cli_projections.rebuild)

    verify = commands.add_parser(
        "verify",
        help="check the log against its hash chain and signed checkpoints; exit 1 naming the"
        " first bad position",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument(
        "--public-key", action="store_true", help="print the checkpoints' public key and exit"
    )
    verify.set_defaults(handler=_verify)

    db = commands.add_parser("db", help="database set-up")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    grants = db_commands.add_parser(
        "grants",
        help="as the tables' owner: let ROLE read and append events, nothing else (run once)",
    )
    grants.add_argument("--role", required=True, help="the role the service connects as")
    grants.add_argument("--dry-run", action="store_true", help="print the SQL, change nothing")
    grants.set_defaults(handler=_db_grants)

    export = commands.add_parser("export", help="write the ledger's data to files")
    export_commands = export.add_subparsers(dest="export_command", required=True)
    snapshot = export_commands.add_parser(
        "snapshot",
        help='every system\'s state as of one position: {"position": N}, then a line per system;'
        " follow on with GET /v1/feed?after=N",
    )
    snapshot.add_argument("file", help="the NDJSON file to write")
    snapshot.set_defaults(handler=_export_snapshot)
    add_export_commands(export_commands)

    demo = commands.add_parser(
        "demo",
        help="load a realistic sample of 南岸区 (500108) through the ledger's commands;"
        " prints an officer's token (refused when loaded before)",
    )
    demo.add_argument(
        "--size",
        type=lambda size: "large" if size == "full" else size,  # `full`: its former name
        choices=("small", "large"),
        default="large",
        help="small: 20 units, ~90 systems (seconds); large: 420 units, ~3,000 systems",
    )
    demo.set_defaults(handler=_demo)
    return top


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("psvs-ledger")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _starts_service(args: argparse.Namespace) -> bool:
    """`serve` and `projections run`: the commands that say when a key is generated."""
    return args.command == "serve" or getattr(args, "projections_command", None) == "run"


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; a configuration error is one line on stderr and exit status 2."""
    from api.core import preflight
    from api.core.keys import generated_key_warnings

    args = parser().parse_args(argv)
    try:
        settings = preflight.load_settings()
        listen = None
        if args.command == "serve":
            source = "--port" if args.port else "LEDGER_PORT"
            listen = (args.host or settings.host, args.port or settings.port, source)
        preflight.check(settings, listen=listen)
        with generated_key_warnings(loud=_starts_service(args)):
            code: int = args.handler(args, settings)
    except ConfigError as error:
        print(f"psvs-ledger: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
