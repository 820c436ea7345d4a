"""Code Assist v1internal: the envelope, the setup flow and its long-running operation.

Operations:
- `wrap(response, trace_id)`: `{"response": <GenerateContentResponse>, "traceId": ...}`, the shape
  every generateContent / streamGenerateContent reply (and each stream event) has on this surface.
- `trace_id(seed)`: a deterministic trace id for a reply.
- `SetupFlow.load_code_assist(identity, body)`: `:loadCodeAssist` — tiers, and the current tier and
  project once the credential is onboarded.
- `SetupFlow(polls).onboard_user(identity, body)`: `:onboardUser` — validates the tier/project rule
  (free tier: project must be omitted), returns a long-running operation `{name, done}`: done at
  once when `polls` is 0, else `done: false`; called again (older gemini-cli releases poll this
  way) it answers the credential's operation, finished once it was polled enough.
- `free_tier_project(identity)`: the project a free-tier onboarding gives a credential.
- `SetupFlow.get_operation(name)`: `GET /v1internal/{name}` — done on the `polls`-th poll, with
  `response.cloudaicompanionProject {id, name}`.
- `SIMPLE_METHODS`: the bookkeeping methods gemini-cli also calls, with their minimal valid answers.
- `account_answer(method, path, identity)`: the few other Google endpoints a Code Assist proxy touches
  while setting up a credential (userinfo, Cloud Resource Manager project list, Service Usage enable),
  so such a proxy runs against the emulator unchanged; None for any other path.

Sources: docs/reference/code-assist.md (gemini-cli `setup.ts`, `server.ts`, `types.ts`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.emulator import google_errors
from conformance.emulator.google_errors import Rejection

FREE_TIER = {
    "id": "free-tier",
    "name": "Gemini Code Assist for individuals",
    "description": "Gemini Code Assist for individuals (emulated)",
    "userDefinedCloudaicompanionProject": False,
    "isDefault": True,
}
STANDARD_TIER = {
    "id": "standard-tier",
    "name": "Gemini Code Assist Standard",
    "description": "Gemini Code Assist Standard (emulated)",
    "userDefinedCloudaicompanionProject": True,
}
TIERS = {"free-tier": FREE_TIER, "standard-tier": STANDARD_TIER, "legacy-tier": STANDARD_TIER}

SIMPLE_METHODS: Mapping[str, dict[str, Any]] = {
    "listExperiments": {"experimentIds": [], "flags": []},
    "retrieveUserQuota": {"buckets": []},
    "recordCodeAssistMetrics": {},
    "fetchAdminControls": {},
    "setCodeAssistGlobalUserSetting": {},
    "getCodeAssistGlobalUserSetting": {},
}


def free_tier_project(identity: str) -> str:
    """The project a free-tier onboarding hands the credential `identity` (its recorded id)."""
    return "emulated-" + hashlib.sha256(identity.encode()).hexdigest()[:12]


def wrap(response: Mapping[str, Any], trace: str) -> dict[str, Any]:
    """The Code Assist envelope around one GenerateContentResponse."""
    return {"response": response, "traceId": trace}


def trace_id(seed: bytes) -> str:
    """A 16-hex-digit trace id derived from the reply seed."""
    return hashlib.blake2b(seed + b"trace", digest_size=8).hexdigest()


@dataclass
class _Onboarding:
    name: str
    tier_id: str
    project: str
    polls_left: int

    def answer(self) -> dict[str, Any]:
        """The long-running operation as getOperation (or a repeated onboardUser) shows it."""
        if self.polls_left > 0:
            return {"name": self.name, "done": False}
        project = {"id": self.project, "name": self.project}
        return {
            "name": self.name,
            "done": True,
            "response": {
                "@type": "type.googleapis.com/google.internal.cloud.code.v1internal.OnboardUserResponse",
                "cloudaicompanionProject": project,
            },
        }


class SetupFlow:
    """Onboarding state per credential, and the operations that onboarding starts."""

    def __init__(self, polls: int = 1) -> None:
        self._polls = polls
        self._onboarded: dict[str, _Onboarding] = {}
        self._operations: dict[str, _Onboarding] = {}

    def load_code_assist(self, identity: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """The `loadCodeAssist` answer for this credential."""
        answer: dict[str, Any] = {"allowedTiers": [FREE_TIER, STANDARD_TIER]}
        done = self._onboarded.get(identity)
        if done is not None and done.polls_left == 0:
            answer["currentTier"] = TIERS[done.tier_id]
            answer["cloudaicompanionProject"] = done.project
        return answer

    def onboard_user(self, identity: str, body: Mapping[str, Any]) -> dict[str, Any] | Rejection:
        """Start onboarding, or show how far the credential's onboarding has got."""
        tier_id = body.get("tierId")
        if tier_id not in TIERS:
            return google_errors.invalid_argument(f"Invalid tier id: {tier_id!r}")
        project = body.get("cloudaicompanionProject")
        if tier_id == "free-tier":
            if project:
                return google_errors.failed_precondition("Precondition Failed")
            project = free_tier_project(identity)
        elif not isinstance(project, str) or not project:
            return google_errors.invalid_argument(
                "cloudaicompanionProject is required for this tier"
            )
        started = self._onboarded.get(identity)
        if started is not None and (started.tier_id, started.project) == (tier_id, project):
            started.polls_left = max(0, started.polls_left - 1)  # asking again is a poll
            return started.answer()
        name = f"operations/onboard-{len(self._operations) + 1}"
        onboarding = _Onboarding(name, str(tier_id), project, self._polls)
        self._operations[name] = self._onboarded[identity] = onboarding
        return onboarding.answer()

    def get_operation(self, name: str) -> dict[str, Any] | Rejection:
        """The onboarding operation (done once polled enough), or 404."""
        onboarding = self._operations.get(name)
        if onboarding is None:
            return google_errors.not_found(f"Operation {name} not found.")
        onboarding.polls_left = max(0, onboarding.polls_left - 1)
        return onboarding.answer()


def account_answer(method: str, path: str, identity: str) -> dict[str, Any] | None:
    """Userinfo, project list and service enablement answers (see the module docstring)."""
    digest = hashlib.sha256(identity.encode()).hexdigest()
    if method == "GET" and path in {
        "/oauth2/v2/userinfo",
        "/oauth2/v3/userinfo",
        "/userinfo/v2/me",
    }:
        return {
            "id": str(int(digest[:15], 16)),
            "email": f"emulated-{digest[:8]}@example.com",
            "verified_email": True,
            "name": "Emulated User",
        }
    if method == "GET" and path == "/v1/projects":
        project = f"emulated-{digest[:12]}"
        return {
            "projects": [
                {
                    "projectId": project,
                    "name": project,
                    "projectNumber": str(int(digest[:11], 16)),
                    "lifecycleState": "ACTIVE",
                }
            ]
        }
    if method == "POST" and path.startswith("/v1/projects/") and path.endswith(":enable"):
        return {"name": "operations/noop.DONE_OPERATION", "done": True}
    return None
