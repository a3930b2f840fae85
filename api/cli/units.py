"""`psvs-ledger units ...`: erasing the persons a unit's registration names (docs/operations.md).

`erase-contact USCC` destroys the data key of the unit's contact (their name and phone, sealed
under it since this version); `--legal-representative` erases the legal representative's name
instead. The registration event is not changed: its sealed values stay, and no longer open, so
every hash and proof stays verifiable and every view shows them as erased.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli.accounts import ledger_of, reporting_errors
from api.cli.help import HelpFormatter
from api.core.settings import Settings


def erase_contact(args: argparse.Namespace, settings: Settings) -> int:
    from api.core.logs import security_event
    from ledger.storage.crypto import sealed_subject
    from ledger.units import CONTACT, LEGAL_REPRESENTATIVE, PERSONAL_FIELDS, person_subject

    person = LEGAL_REPRESENTATIVE if args.legal_representative else CONTACT

    def run() -> int:
        with ledger_of(settings) as ledger:
            unit = ledger.erase_unit_person(uscc=args.uscc, person=person, reason=args.reason)
            subject = person_subject(unit.uscc, person)
            kept = [
                field
                for field in PERSONAL_FIELDS[person]
                if sealed_subject(getattr(unit, field)) != subject
            ]
        security_event("unit_person_erased", uscc=unit.uscc, person=person, via="cli")
        print(f"unit {unit.uscc}: {person} erased")
        if kept:
            print(
                f"warning: {', '.join(kept)} of this registration predate(s) per-person keys"
                " (stored in clear or under the ring key): shown as erased, but still in the log",
                file=sys.stderr,
            )
        return 0

    return reporting_errors(run)


def add_unit_commands(commands: Any) -> None:
    units = commands.add_parser("units", help="units: erase the persons a registration names")
    sub = units.add_subparsers(dest="units_command", required=True)
    erased = sub.add_parser(
        "erase-contact",
        help="erase a unit's contact (name and phone) or, with --legal-representative, its legal"
        " representative's name: their data key is destroyed, no event is changed",
        formatter_class=HelpFormatter,
    )
    erased.add_argument("uscc", help="the unit's unified social credit code")
    erased.add_argument(
        "--legal-representative", action="store_true", help="erase the legal representative"
    )
    erased.add_argument("--reason", default="", help="recorded with the event")
    erased.set_defaults(handler=erase_contact)
