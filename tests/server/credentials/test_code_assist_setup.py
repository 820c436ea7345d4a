"""Code Assist setup: project ids in every shape, loadCodeAssist, onboarding LRO polling."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from conformance.emulator.testing import running_emulator
from server.credentials.code_assist_setup import (
    CodeAssistEndpoint,
    CodeAssistSetupError,
    discover_project,
    project_id_from,
)

BASE = "https://127.0.0.1:9"
ENDPOINT = CodeAssistEndpoint(BASE, "v1internal")
LOAD = f"{BASE}/v1internal:loadCodeAssist"
ONBOARD = f"{BASE}/v1internal:onboardUser"
HEADERS = {"Authorization": "Bearer t"}


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("value", "project"),
    [
        ("my-proj-123", "my-proj-123"),
        ({"id": "my-proj-123", "name": "My Project"}, "my-proj-123"),
        ({"name": "projects/my-proj-123"}, "my-proj-123"),
        ("projects/my-proj-123/locations/global", "my-proj-123"),
        ("projects/", None),
        ("", None),
        (None, None),
        (42, None),
        ({}, None),
    ],
)
def test_project_ids_are_read_from_every_shape_seen_in_the_wild(value, project) -> None:
    assert project_id_from(value) == project


def test_endpoint_urls_follow_the_v1internal_scheme() -> None:
    assert ENDPOINT.method_url("loadCodeAssist") == LOAD
    assert ENDPOINT.operation_url("operations/abc") == f"{BASE}/v1internal/operations/abc"


async def discover(**kwargs) -> str | None:
    fake = kwargs.pop("fake", FakeTime())
    async with httpx.AsyncClient() as client:
        return await discover_project(
            client, ENDPOINT, HEADERS, sleep=fake.sleep, clock=fake.clock, **kwargs
        )


@respx.mock
async def test_a_set_up_user_gets_the_project_load_code_assist_returns() -> None:
    route = respx.post(LOAD).mock(
        return_value=httpx.Response(
            200,
            json={
                "currentTier": {"id": "standard-tier"},
                "cloudaicompanionProject": "projects/p-1/locations/global",
            },
        )
    )
    assert await discover() == "p-1"
    body = json.loads(route.calls.last.request.content)
    assert body["metadata"]["pluginType"] == "GEMINI" and "cloudaicompanionProject" not in body
    assert route.calls.last.request.headers["authorization"] == "Bearer t"


@respx.mock
async def test_the_configured_project_is_sent_and_used_when_none_is_returned() -> None:
    route = respx.post(LOAD).mock(
        return_value=httpx.Response(200, json={"currentTier": {"id": "standard-tier"}})
    )
    assert await discover(configured_project="cfg-proj") == "cfg-proj"
    body = json.loads(route.calls.last.request.content)
    assert body["cloudaicompanionProject"] == "cfg-proj"
    assert body["metadata"]["duetProject"] == "cfg-proj"


@respx.mock
async def test_free_tier_onboarding_omits_the_project_and_polls_the_operation() -> None:
    respx.post(LOAD).mock(
        return_value=httpx.Response(
            200, json={"allowedTiers": [{"id": "free-tier", "isDefault": True}]}
        )
    )
    onboard = respx.post(ONBOARD).mock(
        return_value=httpx.Response(200, json={"name": "operations/op-1", "done": False})
    )
    poll = respx.get(f"{BASE}/v1internal/operations/op-1").mock(
        side_effect=[
            httpx.Response(200, json={"name": "operations/op-1", "done": False}),
            httpx.Response(
                200,
                json={
                    "name": "operations/op-1",
                    "done": True,
                    "response": {"cloudaicompanionProject": {"id": "free-p", "name": "x"}},
                },
            ),
        ]
    )
    fake = FakeTime()
    assert await discover(configured_project="cfg-proj", poll_interval=2.0, fake=fake) == "free-p"
    body = json.loads(onboard.calls.last.request.content)
    assert body["tierId"] == "free-tier" and "cloudaicompanionProject" not in body
    assert "duetProject" not in body["metadata"]
    assert poll.call_count == 2 and fake.sleeps == [0.5, 1.0]


@respx.mock
async def test_a_free_tier_user_may_end_with_no_project() -> None:
    respx.post(LOAD).mock(
        return_value=httpx.Response(
            200, json={"allowedTiers": [{"id": "free-tier", "isDefault": True}]}
        )
    )
    respx.post(ONBOARD).mock(return_value=httpx.Response(200, json={"done": True, "response": {}}))
    assert await discover() is None


@respx.mock
async def test_paid_tier_onboarding_sends_the_configured_project() -> None:
    respx.post(LOAD).mock(
        return_value=httpx.Response(
            200, json={"allowedTiers": [{"id": "standard-tier", "isDefault": True}]}
        )
    )
    onboard = respx.post(ONBOARD).mock(
        return_value=httpx.Response(
            200, json={"done": True, "response": {"cloudaicompanionProject": {"id": "cfg-proj"}}}
        )
    )
    assert await discover(configured_project="cfg-proj") == "cfg-proj"
    assert json.loads(onboard.calls.last.request.content)["cloudaicompanionProject"] == "cfg-proj"


@respx.mock
async def test_without_a_default_tier_legacy_tier_is_onboarded() -> None:
    respx.post(LOAD).mock(return_value=httpx.Response(200, json={}))
    onboard = respx.post(ONBOARD).mock(return_value=httpx.Response(200, json={"done": True}))
    await discover()
    assert json.loads(onboard.calls.last.request.content)["tierId"] == "legacy-tier"


@respx.mock
async def test_an_operation_without_a_name_is_polled_by_asking_onboard_user_again() -> None:
    respx.post(LOAD).mock(return_value=httpx.Response(200, json={}))
    onboard = respx.post(ONBOARD).mock(
        side_effect=[
            httpx.Response(200, json={"done": False}),
            httpx.Response(
                200, json={"done": True, "response": {"cloudaicompanionProject": "p-2"}}
            ),
        ]
    )
    assert await discover() == "p-2"
    assert onboard.call_count == 2


@respx.mock
async def test_onboarding_that_never_finishes_stops_at_the_timeout() -> None:
    respx.post(LOAD).mock(return_value=httpx.Response(200, json={}))
    respx.post(ONBOARD).mock(
        return_value=httpx.Response(200, json={"name": "operations/slow", "done": False})
    )
    respx.get(f"{BASE}/v1internal/operations/slow").mock(
        return_value=httpx.Response(200, json={"name": "operations/slow", "done": False})
    )
    fake = FakeTime()
    with pytest.raises(CodeAssistSetupError, match="within 30s"):
        await discover(poll_interval=5.0, timeout=30.0, fake=fake)
    assert sum(fake.sleeps) <= 30.0


@respx.mock
async def test_a_failed_operation_is_an_error() -> None:
    respx.post(LOAD).mock(return_value=httpx.Response(200, json={}))
    respx.post(ONBOARD).mock(
        return_value=httpx.Response(
            200, json={"done": True, "error": {"code": 9, "message": "Precondition Failed"}}
        )
    )
    with pytest.raises(CodeAssistSetupError, match="Precondition Failed"):
        await discover()


@respx.mock
async def test_an_http_error_names_the_method_and_the_servers_message() -> None:
    respx.post(LOAD).mock(
        return_value=httpx.Response(
            403, json={"error": {"code": 403, "message": "The caller does not have permission"}}
        )
    )
    with pytest.raises(
        CodeAssistSetupError,
        match="loadCodeAssist answered 403: The caller does not have permission",
    ):
        await discover()


@respx.mock
async def test_a_non_json_answer_is_an_error() -> None:
    respx.post(LOAD).mock(return_value=httpx.Response(200, text="<html>"))
    with pytest.raises(CodeAssistSetupError, match="not a JSON object"):
        await discover()


# --- against the emulator: how long the first request waits for onboarding --------------------


@pytest.mark.parametrize(
    ("polls", "interval", "sleeps"),
    [
        (0, 5.0, []),  # onboardUser answers a finished operation: no wait at all
        (1, 5.0, [0.5]),  # done on the first poll: half a second, not the 5 s interval
        (3, 5.0, [0.5, 1.0, 2.0]),
        (3, 0.75, [0.5, 0.75, 0.75]),  # the backoff never passes the configured interval
    ],
)
async def test_the_first_poll_comes_soon_and_later_ones_back_off_to_the_interval(
    polls: int, interval: float, sleeps: list[float]
) -> None:
    config = {"codeassist": {"onboarding_polls": polls}}
    with running_emulator(config) as emulator:
        fake = FakeTime()
        async with httpx.AsyncClient() as client:
            project = await discover_project(
                client,
                CodeAssistEndpoint(emulator.base_url),
                HEADERS,
                poll_interval=interval,
                sleep=fake.sleep,
                clock=fake.clock,
            )
    assert project is not None and project.startswith("emulated-")
    assert fake.sleeps == sleeps


@respx.mock
@pytest.mark.parametrize("refusing", ["loadCodeAssist", "onboardUser", "getOperation"])
async def test_a_setup_call_refusing_the_token_says_401_wherever_it_came(refusing: str) -> None:
    # The caller refreshes the token on a 401 (server.upstream.retry_policy), so the status
    # must survive from whichever setup call gave it.
    refused = httpx.Response(401, json={"error": {"code": 401, "message": "bad token"}})
    respx.post(LOAD).mock(
        return_value=refused
        if refusing == "loadCodeAssist"
        else httpx.Response(200, json={"allowedTiers": [{"id": "free-tier", "isDefault": True}]})
    )
    respx.post(ONBOARD).mock(
        return_value=refused
        if refusing == "onboardUser"
        else httpx.Response(200, json={"name": "operations/op-9", "done": False})
    )
    respx.get(f"{BASE}/v1internal/operations/op-9").mock(return_value=refused)
    with pytest.raises(CodeAssistSetupError) as raised:
        await discover()
    assert raised.value.status == 401
    assert raised.value.error is not None and raised.value.error.refused_credential is not None
