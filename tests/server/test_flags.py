"""Feature flags: strict parsing, admin-only overrides, run-time values through the store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.flags import (
    FLAG_NAMES,
    FlagError,
    Flags,
    FlagService,
    parse_flag_overrides,
    parse_flag_value,
    request_flags,
)
from server.state.factory import open_store
from server.state.store import AuditLine, StateStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store() -> AsyncIterator[StateStore]:
    s = open_store(":memory:")
    await s.open()
    yield s
    await s.close()


def test_all_flags_are_off_by_default() -> None:
    assert Flags().as_dict() == dict.fromkeys(FLAG_NAMES, False)


def test_the_four_rollout_flags_are_known() -> None:
    assert FLAG_NAMES == (
        "ff_retry_policy_v2",
        "ff_http2_pool_tuning",
        "ff_converter_fast_path",
        "ff_preview_credential_scheduler_v2",
    )


def test_the_override_header_sets_each_named_flag() -> None:
    header = "ff_retry_policy_v2=on, ff_http2_pool_tuning=off,ff_converter_fast_path=true"
    assert parse_flag_overrides(header) == {
        "ff_retry_policy_v2": True,
        "ff_http2_pool_tuning": False,
        "ff_converter_fast_path": True,
    }


@pytest.mark.parametrize(
    "header",
    [
        "ff_retry_policy_v3=on",  # unknown flag
        "ff_retry_policy_v2=maybe",  # bad value
        "ff_retry_policy_v2",  # no value
        "ff_retry_policy_v2=on,,ff_http2_pool_tuning=on",  # empty item
        "ff_retry_policy_v2=on,ff_retry_policy_v2=off",  # duplicate
        "",
    ],
)
def test_a_malformed_override_header_is_an_error(header: str) -> None:
    with pytest.raises(FlagError):
        parse_flag_overrides(header)


@pytest.mark.parametrize(
    ("text", "value"), [("ON", True), (" yes ", True), ("0", False), ("False", False)]
)
def test_flag_values_accept_the_usual_words_in_any_case(text: str, value: bool) -> None:
    assert parse_flag_value(text) is value


def test_overrides_apply_only_to_authorised_requests() -> None:
    header = "ff_converter_fast_path=on"
    assert request_flags(Flags(), header, authorised=False) == Flags()
    assert request_flags(Flags(), header, authorised=True) == Flags(ff_converter_fast_path=True)


def test_an_unauthorised_request_cannot_trigger_parse_errors() -> None:
    assert request_flags(Flags(), "garbage", authorised=False) == Flags()


def test_a_malformed_header_on_an_authorised_request_raises() -> None:
    with pytest.raises(FlagError):
        request_flags(Flags(), "garbage", authorised=True)


def test_with_overrides_rejects_unknown_names_and_non_booleans() -> None:
    with pytest.raises(FlagError):
        Flags().with_overrides({"ff_nope": True})
    with pytest.raises(FlagError):
        Flags().with_overrides({"ff_retry_policy_v2": "on"})  # type: ignore[dict-item]


@given(st.dictionaries(st.sampled_from(FLAG_NAMES), st.booleans(), min_size=1))
def test_override_header_round_trips_any_assignment(values: dict[str, bool]) -> None:
    header = ",".join(f"{name}={'on' if on else 'off'}" for name, on in values.items())
    assert request_flags(Flags(), header, authorised=True) == Flags.from_mapping(values)


async def test_a_flag_set_at_run_time_applies_to_the_next_read(store: StateStore) -> None:
    service = FlagService(store, ttl=60.0, clock=FakeClock())
    assert (await service.current()).ff_retry_policy_v2 is False
    await service.set("ff_retry_policy_v2", True)
    assert (await service.current()).ff_retry_policy_v2 is True


async def test_configured_defaults_apply_until_overridden_and_after_reset(
    store: StateStore,
) -> None:
    service = FlagService(store, Flags(ff_http2_pool_tuning=True), clock=FakeClock())
    assert (await service.current()).ff_http2_pool_tuning is True
    await service.set("ff_http2_pool_tuning", False)
    assert (await service.current()).ff_http2_pool_tuning is False
    await service.reset("ff_http2_pool_tuning")
    assert (await service.current()).ff_http2_pool_tuning is True


async def test_writes_by_another_process_are_seen_after_the_ttl(store: StateStore) -> None:
    clock = FakeClock()
    service = FlagService(store, ttl=1.0, clock=clock)
    assert (await service.current()).ff_converter_fast_path is False
    await store.set_flag("ff_converter_fast_path", True)  # another proxy instance
    assert (await service.current()).ff_converter_fast_path is False  # cached
    clock.now += 1.0
    assert (await service.current()).ff_converter_fast_path is True


async def test_every_change_is_an_audit_line_naming_who_when_and_old_to_new(
    store: StateStore,
) -> None:
    service = FlagService(
        store, Flags(ff_http2_pool_tuning=True), clock=FakeClock(), wall_clock=lambda: 1e9
    )
    await service.set("ff_http2_pool_tuning", False, who="panel session abc123")
    await service.set_many({"ff_retry_policy_v2": True, "ff_http2_pool_tuning": False})
    await service.reset("ff_http2_pool_tuning")
    assert await store.audit() == [
        AuditLine(
            1e9, "admin API", "ff_http2_pool_tuning: off → on (reset to the configured value)"
        ),
        AuditLine(1e9, "admin API", "ff_http2_pool_tuning: off → off"),
        AuditLine(1e9, "admin API", "ff_retry_policy_v2: off → on"),
        AuditLine(1e9, "panel session abc123", "ff_http2_pool_tuning: on → off"),
    ]


async def test_setting_an_unknown_flag_writes_nothing(store: StateStore) -> None:
    service = FlagService(store, clock=FakeClock())
    with pytest.raises(FlagError):
        await service.set_many({"ff_retry_policy_v2": True, "ff_bogus": True})
    assert await store.get_flags() == {}
    assert await store.audit() == []


async def test_flag_values_survive_a_restart(tmp_path) -> None:
    path = str(tmp_path / "flags.sqlite3")
    first = open_store(path)
    await first.open()
    await FlagService(first).set("ff_preview_credential_scheduler_v2", True)
    await first.close()
    second = open_store(path)
    await second.open()
    assert (await FlagService(second).current()).ff_preview_credential_scheduler_v2 is True
    await second.close()
