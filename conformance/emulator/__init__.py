"""The strict Gemini API / Code Assist emulator: the upstream double and the oracle.

Front door (imported lazily, so `conformance.emulator.validation` and friends load without the app):
- `create_emulator(config=None, *, jsonl_path=None) -> Emulator` (an ASGI app), from app.py;
- `running_emulator(scenarios=None, *, tls=False, ...)`, a real server for tests, from testing.py;
- `compatkit emulate` runs serve.main.
Modules by role: scenarios (configuration), replies (deterministic answers), faults and capacity
(failures), validation and google_errors (strictness), codeassist and oauth (the Code Assist surface),
recorder, wire (bytes on the wire), app (routing), serve / tls / testing (running it).
This package never imports `compat`: the oracle is written independently of the code it judges.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_emulator", "running_emulator"]


def __getattr__(name: str) -> Any:
    if name == "create_emulator":
        from conformance.emulator.app import create_emulator

        return create_emulator
    if name == "running_emulator":
        from conformance.emulator.testing import running_emulator

        return running_emulator
    raise AttributeError(name)
