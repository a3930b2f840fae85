"""`psvs-ledger accounts ...`: the operators' side of identity (docs/identity.md).

`create` opens a police-side account, or a unit's legal-person account bound to its USCC
(`--role legal_person --uscc`); `list` shows every account and its state; `disable`,
`enable` and `revoke-token` record those acts as events in the log. A token is printed once,
as the last line. Every act is also a security log line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID

from api.cli.help import HelpFormatter
from api.core.settings import Settings


@contextmanager
def ledger_of(settings: Settings) -> Iterator[Any]:
    """The ledger of a runtime without projections, closed when done (the operators' commands)."""
    from api.core.runtime import open_runtime

    runtime = open_runtime(settings, projections=False)
    try:
        yield runtime.ledger
    finally:
        runtime.close()


def reporting_errors(run: Callable[[], int]) -> int:
    """`run()`, with a refused command's errors printed and exit status 2."""
    from ledger.errors import LedgerError, ValidationFailed

    try:
        return run()
    except ValidationFailed as error:
        for e in error.errors:
            print(f"error: {e.loc[-1]}: {e.msg}", file=sys.stderr)
        return 2
    except LedgerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def create(args: argparse.Namespace, settings: Settings) -> int:
    from api.core.logs import security_event
    from api.identity.tokens import new_token
    from ledger.values import Role

    role = Role(args.role)
    if role is Role.LEGAL_PERSON and not args.uscc:
        print("error: --uscc is required with --role legal_person", file=sys.stderr)
        return 2
    if role is not Role.LEGAL_PERSON and args.uscc:
        print("error: --uscc goes with --role legal_person only", file=sys.stderr)
        return 2

    def run() -> int:
        token, digest = new_token()
        with ledger_of(settings) as ledger:
            if role is Role.LEGAL_PERSON:
                account = ledger.open_legal_person_account(
                    caller=None,
                    uscc=args.uscc,
                    name=args.name,
                    phone=args.phone,
                    business_licence_id=None,
                    token_sha256=digest,
                    today=date.today(),
                )
            else:
                account = ledger.open_account(
                    token_sha256=digest,
                    role=role,
                    name=args.name,
                    division_code=args.division or None,
                    today=date.today(),
                )
        where = account.uscc or account.division_code
        security_event("account_created", opened=str(account.id), role=str(role), via="cli")
        print(f"account {account.id} ({role}{' ' + where if where else ''})")
        print(token)
        return 0

    return reporting_errors(run)


def list_accounts(args: argparse.Namespace, settings: Settings) -> int:
    with ledger_of(settings) as ledger:
        accounts = ledger.accounts()
    print("account_id\trole\tstate\tdivision_or_unit\tagent_of\tname")
    for a in accounts:
        if args.role and str(a.role) != args.role:
            continue
        state = "disabled" if a.disabled else "enabled"
        where = a.uscc or a.division_code or "-"
        agent_of = ",".join(sorted(a.agent_of)) or "-"
        print(f"{a.id}\t{a.role}\t{state}\t{where}\t{agent_of}\t{a.name}")
    return 0


def _set_enabled(enabled: bool) -> Callable[[argparse.Namespace, Settings], int]:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        from api.core.logs import security_event

        def run() -> int:
            with ledger_of(settings) as ledger:
                account = ledger.set_account_enabled(
                    account_id=UUID(args.account_id), enabled=enabled, reason=args.reason
                )
            event = "account_enabled" if enabled else "account_disabled"
            security_event(event, account_id=str(account.id), via="cli")
            print(f"account {account.id} {'enabled' if enabled else 'disabled'}")
            return 0

        return reporting_errors(run)

    return handler


def revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    from api.core.logs import security_event
    from api.identity.tokens import token_hash

    if bool(args.account_id) == bool(args.token):
        print("error: give one of --account ACCOUNT_ID or --token TOKEN", file=sys.stderr)
        return 2

    def run() -> int:
        with ledger_of(settings) as ledger:
            if args.account_id:
                account = ledger.revoke_tokens(account_id=UUID(args.account_id), reason=args.reason)
                security_event("tokens_revoked", account_id=str(account.id), via="cli")
                print(f"every token of account {account.id} revoked")
            else:
                token = sys.stdin.readline() if args.token == "-" else args.token
                credential = ledger.revoke_token(
                    token_sha256=token_hash(token.strip()), reason=args.reason
                )
                security_event("token_revoked", account_id=str(credential.account_id), via="cli")
                print(f"token of account {credential.account_id} revoked")
        return 0

    return reporting_errors(run)


def erase(args: argparse.Namespace, settings: Settings) -> int:
    """Erases an account holder's personal data (crypto-shredding): their data key destroyed,
    `Account.Erased` recorded, the account disabled; no event changed."""
    from api.core.logs import security_event
    from ledger.storage.crypto import sealed_subject

    def run() -> int:
        with ledger_of(settings) as ledger:
            account = ledger.erase_account(account_id=UUID(args.account_id), reason=args.reason)
            kept = [
                field
                for field in ("phone", "id_number")
                if getattr(account, field) is not None
                and sealed_subject(getattr(account, field)) != account.id
            ]
        security_event("account_erased", account_id=str(account.id), via="cli")
        print(f"account {account.id} erased (and disabled)")
        if kept:
            print(
                f"warning: {', '.join(kept)} predate(s) per-person keys (sealed under the ring"
                " key): shown as erased, but still in the log",
                file=sys.stderr,
            )
        return 0

    return reporting_errors(run)


def relink_agents(args: argparse.Namespace, settings: Settings) -> int:
    with ledger_of(settings) as ledger:
        written = ledger.relink_agents()
    print(f"{written} agent link(s) recorded on their accounts")
    return 0


def account_id(text: str) -> str:
    """An account id option (argparse names this function in its error)."""
    UUID(text)
    return text


def add_account_commands(commands: Any) -> None:
    accounts = commands.add_parser(
        "accounts", help="accounts and their credentials: create, list, disable, revoke"
    )
    sub = accounts.add_subparsers(dest="accounts_command", required=True)
    fmt = HelpFormatter

    made = sub.add_parser(
        "create",
        help="open a police-side account or a unit's legal-person account; prints its token",
        formatter_class=fmt,
    )
    made.add_argument(
        "--role",
        required=True,
        choices=["officer", "auditor", "admin", "legal_person"],
        help="what the account may do",
    )
    made.add_argument("--division", help="an officer's district code or an auditor's prefix")
    made.add_argument("--uscc", help="a legal-person account's unit (checked licence)")
    made.add_argument("--phone", help="a legal-person account's phone (stored sealed)")
    made.add_argument("--name", required=True, help="the holder's name (a person or a unit)")
    made.set_defaults(handler=create)

    listed = sub.add_parser("list", help="every account and its state", formatter_class=fmt)
    listed.add_argument("--role", help="only accounts of this role")
    listed.set_defaults(handler=list_accounts)

    for name, enabled in (("disable", False), ("enable", True)):
        cmd = sub.add_parser(
            name,
            help=f"{name} an account (its tokens and sessions "
            f"{'work again' if enabled else 'are refused within a second'})",
            formatter_class=fmt,
        )
        cmd.add_argument("account_id", type=account_id, help="the account's id (`accounts list`)")
        cmd.add_argument("--reason", default="", help="recorded with the event")
        cmd.set_defaults(handler=_set_enabled(enabled))

    revoke = sub.add_parser(
        "revoke-token",
        help="refuse every token of an account (--account) or one token (--token)",
        formatter_class=fmt,
    )
    revoke.add_argument(
        "--account", dest="account_id", type=account_id, help="revoke all its tokens"
    )
    revoke.add_argument(
        "--token", help='revoke this one token ("-": read it from standard input, out of ps)'
    )
    revoke.add_argument("--reason", default="", help="recorded with the event")
    revoke.set_defaults(handler=revoke_token)

    erased = sub.add_parser(
        "erase",
        help="erase an account holder's personal data (their data key is destroyed; no event"
        " is changed, every proof stays verifiable) and disable the account",
        formatter_class=fmt,
    )
    erased.add_argument("account_id", type=account_id, help="the account's id (`accounts list`)")
    erased.add_argument("--reason", default="", help="recorded with the event")
    erased.set_defaults(handler=erase)

    relink = sub.add_parser(
        "relink-agents",
        help="once, after upgrading a log written before accounts recorded their units: record"
        " each agent's units on its account (idempotent)",
        formatter_class=fmt,
    )
    relink.set_defaults(handler=relink_agents)
