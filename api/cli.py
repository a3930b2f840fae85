"""The operators' command line: `psvs-ledger --help`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from api.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    app = create_app(settings, projections=not args.no_projections)
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level,
        access_log=False,
    )
    return 0


def _accounts_create(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import date

    from api.auth import new_token
    from api.runtime import open_runtime
    from ledger.errors import ValidationFailed
    from ledger.values import Role

    runtime = open_runtime(settings, projections=False)
    try:
        token, digest = new_token()
        try:
            account = runtime.ledger.open_account(
                token_sha256=digest,
                role=Role(args.role),
                name=args.name,
                division_code=args.division or None,
                today=date.today(),
            )
        except ValidationFailed as error:
            for e in error.errors:
                print(f"error: {e.loc[-1]}: {e.msg}", file=sys.stderr)
            return 2
        print(f"account {account.id} ({args.role}{' ' + args.division if args.division else ''})")
        print(token)
        return 0
    finally:
        runtime.close()


def _projections_run(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    from api.runtime import open_runtime

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


def _projections_status(args: argparse.Namespace, settings: Settings) -> int:
    from api.runtime import open_runtime

    runtime = open_runtime(settings, projections=True)
    try:
        head = runtime.head()
        for runner in runtime.runners:
            position = runner.view.max_tracking_id(runtime.ledger.name) or 0
            print(
                f"{runner.projection.name:10} position {position:>10}  lag {head - position:>8}"
                f"  rules {runtime.rules.version} ({runtime.rules.digest})"
            )
        return 0
    finally:
        runtime.close()


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="psvs-ledger",
        description="Filing ledger for public security video systems. Settings come from "
        "LEDGER_* environment variables (LEDGER_DATABASE_URL, LEDGER_RULES, ...).",
    )
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (and the projection workers)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--no-projections",
        action="store_true",
        help="leave the views to `psvs-ledger projections run`",
    )
    serve.set_defaults(handler=_serve)

    accounts = commands.add_parser("accounts", help="police-side accounts")
    account_commands = accounts.add_subparsers(dest="accounts_command", required=True)
    create = account_commands.add_parser("create", help="create an account; prints its token")
    create.add_argument("--role", required=True, choices=["officer", "auditor", "admin"])
    create.add_argument("--division", help="an officer's district code or an auditor's prefix")
    create.add_argument("--name", required=True)
    create.set_defaults(handler=_accounts_create)

    projections = commands.add_parser("projections", help="the views built from the log")
    projection_commands = projections.add_subparsers(dest="projections_command", required=True)
    run = projection_commands.add_parser("run", help="keep the views up to date")
    run.set_defaults(handler=_projections_run)
    status = projection_commands.add_parser("status", help="position and lag of each view")
    status.set_defaults(handler=_projections_status)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    code: int = args.handler(args, settings)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
