"""Idempotency keys of creating writes: a retry gets the first result and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.accounts import Account
from ledger.errors import AlreadyExists, IdempotencyKeyReused, ValidationFailed
from ledger.services.application import Ledger, Outcome, RequestKey
from tests.support.codes import make_uscc
from tests.support.factories import (
    TODAY,
    device,
    head,
    legal_person,
    letter,
    make_ledger,
    person,
    system_fields,
    unit_fields,
    unit_with_owner,
)

KEY = "3f1c9a4e-retry"


@pytest.fixture
def app() -> Ledger:
    return make_ledger()


@pytest.fixture
def unit(app: Ledger) -> tuple[str, Account]:
    return unit_with_owner(app)


def file_with_key(
    app: Ledger, caller: Account, uscc: str, request: RequestKey, **overrides: Any
) -> Outcome:
    return app.file_system(
        caller=caller,
        fields=system_fields(uscc, **overrides),
        devices=[device()],
        today=TODAY,
        request=request,
    )


def blind_first_lookup(app: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next request looks its key up before the first request commits, finding nothing;
    it learns of the first one only from the store's refusal of its own save."""
    lookup = app._replayed
    calls = 0

    def racing(*args: Any) -> Outcome | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else lookup(*args)

    monkeypatch.setattr(app, "_replayed", racing)


def test_a_retry_with_the_same_key_and_body_returns_the_first_filing_and_writes_nothing(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    request = RequestKey(KEY, "digest-a")
    first = file_with_key(app, owner, uscc, request)
    app.change_system(
        caller=owner,
        system_id=first.aggregate.id,
        expected_version=1,
        effective_on=TODAY,
        reason="改名",
        changes={"name": "改过的名称"},
        today=TODAY,
    )
    before = head(app)

    retry = file_with_key(app, owner, uscc, request)

    assert retry.replayed is True
    assert retry.aggregate.id == first.aggregate.id
    assert retry.aggregate.version == 1
    assert retry.aggregate.fields["name"] == first.aggregate.fields["name"]
    assert retry.aggregate.filing_number == "500108-2025-000001"
    assert head(app) == before


def test_the_same_key_with_another_body_is_rejected_and_writes_nothing(
    app: Ledger, unit: tuple[str, Account]
) -> None:
    uscc, owner = unit
    file_with_key(app, owner, uscc, RequestKey(KEY, "digest-a"))
    before = head(app)

    with pytest.raises(IdempotencyKeyReused):
        file_with_key(app, owner, uscc, RequestKey(KEY, "digest-b"), name="另一个系统")

    assert head(app) == before


def test_keys_are_scoped_per_caller(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    agent = person(app)
    app.authorise_agent(
        caller=owner,
        uscc=uscc,
        account_id=agent.id,
        authorization_letter_id=letter(app, owner),
        today=TODAY,
    )
    request = RequestKey(KEY, "digest-a")

    by_owner = file_with_key(app, owner, uscc, request)
    agent = app.get_account(agent.id)  # the link is recorded on the account
    by_agent = file_with_key(app, agent, uscc, request)

    assert by_agent.replayed is False
    assert by_agent.aggregate.id != by_owner.aggregate.id
    assert [by_owner.aggregate.filing_number, by_agent.aggregate.filing_number] == [
        "500108-2025-000001",
        "500108-2025-000002",
    ]


def test_a_rejected_request_does_not_use_up_its_key(app: Ledger, unit: tuple[str, Account]) -> None:
    uscc, owner = unit
    with pytest.raises(ValidationFailed):
        file_with_key(app, owner, uscc, RequestKey(KEY, "digest-bad"), storage_days=20)

    fixed = file_with_key(app, owner, uscc, RequestKey(KEY, "digest-good"))

    assert fixed.replayed is False
    assert fixed.aggregate.filing_number == "500108-2025-000001"


def test_a_key_used_for_a_unit_cannot_then_file_a_system(app: Ledger) -> None:
    uscc = make_uscc()
    owner = legal_person(app, uscc)
    request = RequestKey(KEY, "digest-a")
    app.register_unit(caller=owner, fields=unit_fields(uscc), today=TODAY, request=request)

    with pytest.raises(IdempotencyKeyReused):
        file_with_key(app, owner, uscc, request)


def test_an_idempotent_unit_registration_replays(app: Ledger) -> None:
    uscc = make_uscc()
    owner = legal_person(app, uscc)
    request = RequestKey(KEY, "digest-a")
    first = app.register_unit(caller=owner, fields=unit_fields(uscc), today=TODAY, request=request)
    before = head(app)

    retry = app.register_unit(caller=owner, fields=unit_fields(uscc), today=TODAY, request=request)

    assert (first.replayed, retry.replayed) == (False, True)
    assert retry.aggregate.id == first.aggregate.id
    assert head(app) == before


def test_a_new_key_does_not_register_a_unit_twice(app: Ledger) -> None:
    uscc = make_uscc()
    owner = legal_person(app, uscc)
    app.register_unit(
        caller=owner, fields=unit_fields(uscc), today=TODAY, request=RequestKey("first", "digest-a")
    )

    with pytest.raises(AlreadyExists):
        app.register_unit(
            caller=owner,
            fields=unit_fields(uscc),
            today=TODAY,
            request=RequestKey("second", "digest-a"),
        )


def test_a_retry_racing_the_first_request_gets_the_first_filing(
    app: Ledger, unit: tuple[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    uscc, owner = unit
    request = RequestKey(KEY, "digest-a")
    first = file_with_key(app, owner, uscc, request)
    blind_first_lookup(app, monkeypatch)
    before = head(app)

    retry = file_with_key(app, owner, uscc, request)

    assert retry.replayed is True
    assert retry.aggregate.id == first.aggregate.id
    assert head(app) == before


def test_a_racing_request_with_another_body_is_rejected(
    app: Ledger, unit: tuple[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    uscc, owner = unit
    file_with_key(app, owner, uscc, RequestKey(KEY, "digest-a"))
    blind_first_lookup(app, monkeypatch)
    before = head(app)

    with pytest.raises(IdempotencyKeyReused):
        file_with_key(app, owner, uscc, RequestKey(KEY, "digest-b"), name="另一个系统")

    assert head(app) == before
