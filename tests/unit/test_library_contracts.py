"""What the ledger relies on inside its libraries, where they offer no public way: these fail
loudly when an upgrade of psycopg or eventsourcing moves it (api/core/psycopg_fix.py,
projections/tracking.py), and the public ways used instead still behave as relied on."""

from __future__ import annotations

import inspect
import threading
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg import _pipeline_base, generators
from psycopg._pipeline_base import BasePipeline

from api.core import psycopg_fix
from ledger.services.application import Ledger
from ledger.storage.transcodings import FastJSONTranscoder, register_ledger_transcodings
from ledger.values import Actor, Device, DeviceType, Role


def test_psycopg_pipelines_still_talk_through_the_name_the_fix_rebinds() -> None:
    assert psycopg.__version__.startswith("3."), psycopg.__version__
    assert hasattr(_pipeline_base, psycopg_fix.PATCHED_NAME)
    source = inspect.getsource(BasePipeline._communicate_gen)
    assert "pipeline_communicate(self.pgconn, self.command_queue)" in source
    assert list(inspect.signature(generators._pipeline_communicate).parameters) == [
        "pgconn",
        "commands",
    ]
    assert callable(generators._consume_notifies)


def test_the_pipeline_fix_is_installed_by_the_composition_root_only() -> None:
    before = psycopg_fix.pipeline_flush_installed()
    threads = threading.active_count()
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        assert psycopg_fix.pipeline_flush_installed() == before  # the domain patches nothing
        assert threading.active_count() == threads  # and starts no thread
    finally:
        ledger.close()
    psycopg_fix.install_pipeline_flush()
    psycopg_fix.install_pipeline_flush()
    assert psycopg_fix.pipeline_flush_installed()


def test_eventsourcing_still_records_a_position_in_the_callers_transaction() -> None:
    parameters = inspect.signature(PostgresTrackingRecorder._insert_tracking).parameters
    assert list(parameters) == ["self", "curs", "tracking"]


def test_eventsourcing_still_takes_snapshots_after_the_commit_through_take_snapshot() -> None:
    save = inspect.getsource(Application.save)
    assert save.index("self._record(") < save.index("self._take_snapshots(")
    assert "self.take_snapshot(" in inspect.getsource(Application._take_snapshots)
    ours = inspect.signature(Ledger.take_snapshot).parameters
    assert list(ours) == list(inspect.signature(Application.take_snapshot).parameters)


def _transcoders() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    library, fast = JSONTranscoder(), FastJSONTranscoder()
    for transcoder in (library, fast):
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
        register_ledger_transcodings(transcoder)
    return library, fast


def test_the_fast_transcoder_writes_and_reads_the_library_format_byte_for_byte() -> None:
    library, fast = _transcoders()
    device = Device(
        key="k1", name="1号摄像机", address="重庆市南岸区", device_type=next(iter(DeviceType)),
        indoor=False, face_capture=True, storage_days=90, longitude=106.57, latitude=29.53,
    )  # fmt: skip
    state = {
        "timestamp": datetime(2026, 11, 1, 8, 30, tzinfo=UTC),
        "actor": Actor("a1", next(iter(Role)), "张三", None, "500108"),
        "on": date(2026, 11, 1),
        "ids": [uuid.uuid4(), (uuid.uuid4(), "x")],
        "amount": Decimal("1.50"),
        "seal": b"\x00\xff",
        "devices": [device, device],
        "nested": {"role": next(iter(Role)), "n": 3, "ok": True, "none": None, "f": 0.1},
    }
    stored = library.encode(state)
    assert fast.encode(state) == stored
    assert fast.decode(stored) == library.decode(stored)
    assert "uuid_hex" in fast.names  # readers of the stored JSON find the transcodings by name
