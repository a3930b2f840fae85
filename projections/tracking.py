"""The one module that uses an eventsourcing internal: recording a view's position inside the
transaction that writes its rows.

The library's public `TrackingRecorder.insert_tracking(tracking)` opens a transaction of its
own, so a view's rows and its position could be committed apart (a crash between them would
apply events twice). The library's own PostgreSQL recorders record both in one transaction with
the protected `PostgresTrackingRecorder._insert_tracking(cursor, tracking)`, which raises
`IntegrityError` for a position not above the recorded one: what makes each event apply exactly
once. tests/unit/test_library_contracts.py (its name and signature) and
tests/integration/test_library_contracts_on_postgres.py (that behaviour) fail loudly when the
library changes under it.
"""

from __future__ import annotations

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow


def record_position(
    view: PostgresTrackingRecorder, curs: Cursor[DictRow], application_name: str, position: int
) -> None:
    """Records that `view` has applied `application_name`'s log up to `position`, in the
    transaction of `curs`; raises `IntegrityError` when it already stands at or beyond it."""
    view._insert_tracking(curs, Tracking(application_name, position))
