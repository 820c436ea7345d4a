"""The one way a checker says no: a `Violation` naming the broken rule (an AssertionError, so a
test that calls a checker fails with the rule's text), optionally with what was expected and what
was found, which a report shows as a diff.

    require(condition, rule, detail="")     raise Violation(rule: detail) unless condition
    Violation(rule, expected=..., actual=...)
"""

from __future__ import annotations

from typing import Any

_UNSET: Any = object()


class Violation(AssertionError):
    """A broken rule; `expected` / `actual` (when given) are what a report diffs."""

    def __init__(self, message: str, *, expected: Any = _UNSET, actual: Any = _UNSET) -> None:
        super().__init__(message)
        self.expected = None if expected is _UNSET else expected
        self.actual = None if actual is _UNSET else actual
        self.has_diff = expected is not _UNSET and actual is not _UNSET


def require(condition: object, rule: str, detail: object = "") -> None:
    """Raise a Violation of `rule` (with `detail`, repr'd) unless `condition` holds."""
    if not condition:
        raise Violation(f"{rule}: {detail!r}" if detail != "" else rule)
