"""Reading the overdue view's duties for system responses: the change duties of many systems.

A system's registration and its correction orders are in its own document (the status view's
row, or the aggregate); what a document does not keep is the list of its changes. The overdue
view keeps one duty per change, with the due date it computed under its rules, so a page of
systems gets theirs in one query (never one per item). `upto` keeps only the duties of events
up to a position, for a snapshot as of that position.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, TypedDict
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL

from projections.overdue import OverdueView


class ChangeDuty(TypedDict):
    """A change's duty: file it by `due_on`; it was filed (met) on `met_on`."""

    seq: int
    due_on: date
    met_on: date | None
    provisional: bool


def change_duties_in(
    curs: Cursor[DictRow], system_ids: Iterable[UUID | str], *, upto: int | None = None
) -> dict[str, list[ChangeDuty]]:
    """The change duties of `system_ids`, by system id (as text), in the order filed."""
    ids = [UUID(str(system_id)) for system_id in system_ids]
    if not ids:
        return {}
    params: list[Any] = [ids]
    bound = SQL("")
    if upto is not None:
        bound = SQL(" AND position <= %s")
        params.append(upto)
    curs.execute(
        SQL(
            "SELECT system_id, duty_id, due_on, met_on, provisional FROM {t}"
            " WHERE kind = 'change' AND system_id = ANY(%s){b} ORDER BY position"
        ).format(t=OverdueView.read_table("duties"), b=bound),
        params,
    )
    duties: dict[str, list[ChangeDuty]] = {}
    for row in curs.fetchall():
        duties.setdefault(str(row["system_id"]), []).append(
            ChangeDuty(
                # duty ids of changes are "change:<system_id>:<version of the change>"
                seq=int(row["duty_id"].rsplit(":", 1)[1]),
                due_on=row["due_on"],
                met_on=row["met_on"],
                provisional=row["provisional"],
            )
        )
    return duties


def change_duties(
    reads: PostgresDatastore, system_ids: Iterable[UUID | str]
) -> dict[str, list[ChangeDuty]]:
    """`change_duties_in`, in a short transaction of its own."""
    with reads.transaction(commit=False) as curs:
        return change_duties_in(curs, system_ids)
