"""Attachment bytes in `attachment_blobs`, out of the event log (ledger/storage/blobs.py), on a real
PostgreSQL: what the log keeps, deduplication by hash, version 1 events still read, and
collection of what nothing referenced within the retention."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest

from ledger.errors import ValidationFailed
from ledger.services.application import Ledger
from ledger.storage.blobs import ATTACHMENT_GONE, AttachmentGone, collect
from tests.support.codes import make_uscc
from tests.support.factories import (
    TODAY,
    device,
    officer,
    person,
    system_fields,
    unit_fields,
    unit_with_owner,
)
from tests.support.postgres import sql_rows

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 300  # about 77 KB, not compressible much


def _age(url: str, days: int) -> None:
    """Every blob as if last uploaded and last named `days` ago."""
    sql_rows(
        url,
        "UPDATE attachment_blobs SET last_uploaded_at = now() - make_interval(days => %s),"
        " last_referenced_at = CASE WHEN last_referenced_at IS NULL THEN NULL"
        " ELSE now() - make_interval(days => %s) END",
        days,
        days,
    )


def _upload(app: Ledger, caller: Any, content: bytes = PDF) -> Any:
    return app.upload(caller=caller, content=content, media_type="application/pdf", filename="f")


def test_the_log_keeps_the_hash_and_the_blob_store_the_bytes(
    postgres_ledger: Ledger, database_url: str
) -> None:
    app = postgres_ledger
    _, owner = unit_with_owner(app)

    uploaded = _upload(app, owner)

    stored = app.recorder.select_events(uploaded.id)[-1]
    assert len(stored.state) < 1000
    state = json.loads(stored.state)
    assert "content" not in state and state["class_version"] == 2
    assert state["sha256"] == uploaded.sha256 and state["size"] == len(PDF)
    assert uploaded.content == PDF
    assert app.get_attachment(uploaded.id).content == PDF
    rows = sql_rows(database_url, "SELECT sha256, size, media_type, content FROM attachment_blobs")
    assert rows == [(uploaded.sha256, len(PDF), "application/pdf", PDF)]


def test_the_same_bytes_twice_are_one_blob_and_two_uploads(
    postgres_ledger: Ledger, database_url: str
) -> None:
    app = postgres_ledger
    _, owner = unit_with_owner(app)

    first, second = _upload(app, owner), _upload(app, owner)

    assert first.id != second.id and first.sha256 == second.sha256
    assert sql_rows(database_url, "SELECT count(*) FROM attachment_blobs") == [(1,)]
    assert app.get_attachment(second.id).content == PDF


def test_a_version_1_upload_with_its_bytes_in_the_log_still_reads(
    postgres_ledger: Ledger, database_url: str
) -> None:
    app = postgres_ledger
    _, owner = unit_with_owner(app)
    current = app.recorder.select_events(_upload(app, owner, b"%PDF-1.4 new").id)[-1]
    old_bytes = b"%PDF-1.4 written by version 1"
    state = json.loads(current.state)
    del state["class_version"]
    state["content"] = {"_type_": "bytes_hex", "_data_": old_bytes.hex()}
    old_id = uuid4()
    app.recorder.insert_events(
        [replace(current, originator_id=old_id, state=json.dumps(state).encode())]
    )

    read = app.get_attachment(old_id)

    assert read.content == old_bytes  # from the event itself: there is no blob of it
    assert sql_rows(database_url, "SELECT count(*) FROM attachment_blobs") == [(1,)]
    # and such an upload may still be named (it is never collected)
    _age(database_url, 40)
    assert collect(app, app.blobs, retention_days=30).deleted  # only the new, unreferenced one
    assert app.get_attachment(old_id).content == old_bytes


def test_collection_takes_only_what_nothing_referenced_within_the_retention(
    postgres_ledger: Ledger, database_url: str
) -> None:
    app = postgres_ledger
    agent = person(app)
    letter = _upload(app, agent, PDF + b"letter")
    uscc = make_uscc()
    app.register_unit(
        caller=agent, fields=unit_fields(uscc, authorization_letter_id=letter.id), today=TODAY
    )
    police = officer(app)
    form = _upload(app, police, PDF + b"form")
    app.file_system(
        caller=police, fields=system_fields(uscc), devices=[device()], today=TODAY,
        paper_form_id=form.id,
    )  # fmt: skip
    stray = _upload(app, agent, PDF + b"stray")
    _age(database_url, 31)
    recent = _upload(app, agent, PDF + b"recent")

    dry = collect(app, app.blobs, retention_days=30, dry_run=True)

    assert [b.sha256 for b in dry.deleted] == [stray.sha256]
    assert dry.kept_referenced == 2 and dry.stale == 3
    assert app.get_attachment(stray.id).content is not None  # a dry run deletes nothing

    done = collect(app, app.blobs, retention_days=30)

    assert [b.sha256 for b in done.deleted] == [stray.sha256]
    assert done.bytes_freed == len(PDF) + len(b"stray")
    with pytest.raises(AttachmentGone):
        app.get_attachment(stray.id)
    for kept in (letter, form, recent):
        assert app.get_attachment(kept.id).content is not None
    # the event stays: the log still records that the upload happened
    assert app.recorder.select_events(stray.id)
    # naming a collected upload is refused, naming the field
    with pytest.raises(ValidationFailed) as refused:
        app.register_unit(
            caller=agent,
            fields=unit_fields(make_uscc(), authorization_letter_id=stray.id),
            today=TODAY,
        )
    assert [(e.loc, e.msg) for e in refused.value.errors] == [
        (("body", "authorization_letter_id"), ATTACHMENT_GONE)
    ]
    # the same bytes uploaded again bring the old upload back too (content-addressed)
    _upload(app, agent, PDF + b"stray")
    assert app.get_attachment(stray.id).content == PDF + b"stray"


def test_naming_an_upload_keeps_it_even_when_the_command_fails(
    postgres_ledger: Ledger, database_url: str
) -> None:
    """A command names the upload (and marks it referenced) before it saves: a collection
    that read the log before the save still keeps the bytes."""
    app = postgres_ledger
    agent = person(app)
    letter = _upload(app, agent)
    _age(database_url, 31)
    with pytest.raises(ValidationFailed):  # named, but the registration is otherwise invalid
        app.register_unit(
            caller=agent,
            fields=unit_fields(make_uscc(), authorization_letter_id=letter.id, contact_phone="1"),
            today=TODAY,
        )

    assert collect(app, app.blobs, retention_days=30).deleted == []
    assert app.get_attachment(letter.id).content == PDF


def test_bytes_stored_without_their_event_are_collected(
    postgres_ledger: Ledger, database_url: str
) -> None:
    """What a crash between the blob and the event leaves behind."""
    app = postgres_ledger
    app.blobs.put(sha256="ab" * 32, content=b"orphan", media_type="application/pdf")
    _age(database_url, 31)

    assert [b.sha256 for b in collect(app, app.blobs, retention_days=30).deleted] == ["ab" * 32]
    assert sql_rows(database_url, "SELECT count(*) FROM attachment_blobs") == [(0,)]


def test_the_business_licence_of_a_legal_person_account_is_kept(
    postgres_ledger: Ledger, database_url: str
) -> None:
    app = postgres_ledger
    police = officer(app)
    licence = _upload(app, police)
    app.open_legal_person_account(
        caller=police, uscc=make_uscc(), name="单位", phone=None,
        business_licence_id=licence.id, token_sha256="ab" * 32, today=TODAY,
    )  # fmt: skip
    _age(database_url, 31)

    assert collect(app, app.blobs, retention_days=30).deleted == []
