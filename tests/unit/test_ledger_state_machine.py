"""A system's lifecycle driven by random command sequences against a model of what must hold.

After every step the ledger's system must match the model: status, version, camera count, the
device keys, its name, channel and filing number. A rejected command must write nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledger.accounts import Account
from ledger.errors import (
    LedgerError,
    StaleVersion,
    SystemClosed,
    ValidationFailed,
    WrongChannel,
)
from ledger.values import Channel, SystemStatus
from tests.support.codes import make_device_id
from tests.support.factories import (
    TODAY,
    device,
    head,
    letter,
    make_ledger,
    officer,
    system_fields,
    unit_with_owner,
)

NAMES = ("南坪商场视频监控系统", "南坪商场一期", "南坪商场二期")


@dataclass
class Model:
    """What the ledger should say about the system."""

    channel: Channel
    name: str
    keys: list[str]
    status: SystemStatus = SystemStatus.FILED
    version: int = 1
    next_no: int = field(init=False)

    def __post_init__(self) -> None:
        self.next_no = len(self.keys) + 1

    @property
    def closed(self) -> bool:
        return self.status is SystemStatus.CANCELLED


class SystemLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = make_ledger()
        self.uscc, self.owner = unit_with_owner(self.app)
        self.clerk = officer(self.app)
        self.serial = 0
        self.system_id: UUID
        self.filing_number: str | None
        self.model: Model

    # --- helpers ------------------------------------------------------------------------------
    def caller(self, *, right: bool) -> Account:
        online = self.model.channel is Channel.ONLINE
        return self.owner if online == right else self.clerk

    def attempt(self, expected: type[LedgerError] | None, command: Callable[[], Any]) -> bool:
        """Runs the command; checks it fails with `expected` and writes nothing, or succeeds."""
        before = head(self.app)
        if expected is None:
            command()
            return True
        try:
            command()
        except LedgerError as error:
            assert type(error) is expected, f"{type(error).__name__}: {error}"
        else:
            raise AssertionError(f"expected {expected.__name__}, the command succeeded")
        assert head(self.app) == before
        return False

    def change(self, *, right: bool = True, offset: int = 0, **kwargs: Any) -> Callable[[], Any]:
        arguments: dict[str, Any] = {"changes": {}, **kwargs}
        return lambda: self.app.change_system(
            caller=self.caller(right=right),
            system_id=self.system_id,
            expected_version=self.model.version + offset,
            effective_on=TODAY,
            reason="变更",
            today=TODAY,
            **arguments,
        )

    def cancel(self, *, right: bool = True) -> Callable[[], Any]:
        return lambda: self.app.cancel_system(
            caller=self.caller(right=right),
            system_id=self.system_id,
            expected_version=self.model.version,
            effective_on=TODAY,
            reason="拆除",
            today=TODAY,
        )

    def new_device(self, with_id: bool) -> dict[str, Any]:
        if not with_id:
            return device()
        self.serial += 1
        return device(device_id=make_device_id(self.serial))

    def open_or(self, otherwise: type[LedgerError] | None) -> type[LedgerError] | None:
        return SystemClosed if self.model.closed else otherwise

    # --- steps --------------------------------------------------------------------------------
    @initialize(
        channel=st.sampled_from(Channel), with_ids=st.lists(st.booleans(), min_size=1, max_size=3)
    )
    def file(self, channel: Channel, with_ids: list[bool]) -> None:
        devices = [self.new_device(with_id) for with_id in with_ids]
        online = channel is Channel.ONLINE
        clerk = self.clerk
        system = self.app.file_system(
            caller=self.owner if online else clerk,
            fields=system_fields(self.uscc, name=NAMES[0]),
            devices=devices,
            today=TODAY,
            paper_form_id=None if online else letter(self.app, clerk),
        ).aggregate
        keys = [d["device_id"] or f"D{i:04d}" for i, d in enumerate(devices, start=1)]
        self.system_id, self.filing_number = system.id, system.filing_number
        self.model = Model(channel=channel, name=NAMES[0], keys=keys)

    @rule(name=st.sampled_from(NAMES))
    def rename(self, name: str) -> None:
        same = name == self.model.name
        if self.attempt(
            self.open_or(ValidationFailed if same else None), self.change(changes={"name": name})
        ):
            self.model.name = name
            self.model.version += 1

    @rule(offset=st.integers(-2, 2).filter(bool))
    def change_at_a_stale_version(self, offset: int) -> None:
        self.attempt(StaleVersion, self.change(offset=offset, changes={"name": "过期的改名"}))

    @rule()
    def change_through_the_wrong_channel(self) -> None:
        self.attempt(
            self.open_or(WrongChannel), self.change(right=False, changes={"name": "错误渠道"})
        )

    @rule(with_ids=st.lists(st.booleans(), min_size=1, max_size=3))
    def add_devices(self, with_ids: list[bool]) -> None:
        added = [self.new_device(with_id) for with_id in with_ids]
        if self.attempt(self.open_or(None), self.change(devices_added=added)):
            for data in added:
                self.model.keys.append(data["device_id"] or f"D{self.model.next_no:04d}")
                self.model.next_no += 1
            self.model.version += 1

    @rule(index=st.integers(0, 9))
    def remove_a_device(self, index: int) -> None:
        key = self.model.keys[index % len(self.model.keys)]
        last = len(self.model.keys) == 1
        if self.attempt(
            self.open_or(ValidationFailed if last else None), self.change(devices_removed=[key])
        ):
            self.model.keys.remove(key)
            self.model.version += 1

    @rule()
    def remove_an_unknown_device(self) -> None:
        self.attempt(self.open_or(ValidationFailed), self.change(devices_removed=["D9999"]))

    @rule()
    def cancel_through_the_wrong_channel(self) -> None:
        self.attempt(self.open_or(WrongChannel), self.cancel(right=False))

    @rule()
    def cancel_the_system(self) -> None:
        if self.attempt(self.open_or(None), self.cancel()):
            self.model.status = SystemStatus.CANCELLED
            self.model.version += 1

    # --- what must hold -----------------------------------------------------------------------
    @invariant()
    def the_system_matches_the_model(self) -> None:
        system = self.app.system_for(self.owner, self.system_id)
        assert system.status is self.model.status
        assert system.version == self.model.version
        assert system.camera_count == len(self.model.keys)
        assert sorted(system.devices) == sorted(self.model.keys)
        assert system.fields["name"] == self.model.name
        assert system.channel is self.model.channel
        assert system.filing_number == self.filing_number

    @invariant()
    def every_version_is_one_event(self) -> None:
        events = self.app.system_events(self.clerk, self.system_id)
        assert [e.originator_version for e in events] == list(range(1, self.model.version + 1))


SystemLifecycle.TestCase.settings = settings(max_examples=30, stateful_step_count=15, deadline=None)
test_a_systems_lifecycle_follows_the_model = SystemLifecycle.TestCase
