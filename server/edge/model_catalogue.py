"""The model catalogue the proxy answers for: which client model names exist, and their shapes.

Operations:
    ModelCatalogue(model_map)
        .upstream_for(client_model) -> str | None   the Gemini model, or None for an unknown name
        .known_ids() -> list[str]                     ids `GET /v1/models` lists, sorted
        .info(model_id) -> dict                       an Anthropic ModelInfo
        .page(after_id, before_id, limit) -> dict     the Anthropic list page
    (the shapes: docs/reference/anthropic.md#endpoints-and-headers)

Rules: a name is known when it matches a route of the model map, is itself an upstream
model of the map (or one of its scarce models), or is a `gemini-*` name (passed through,
the upstream decides; letters, digits, dots and dashes only). The map's routes are globs, so the listing shows the concrete
(glob-free) patterns, the upstream models, and the well-known Claude ids some route accepts.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from server.config import ModelMap

# Claude model ids clients commonly ask for; listed when a route of the map accepts them.
WELL_KNOWN_CLAUDE_IDS = (
    "claude-opus-4-1-20250805",
    "claude-opus-4-20250514",
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-20250514",
    "claude-3-7-sonnet-20250219",
    "claude-haiku-4-5-20251001",
    "claude-3-5-haiku-20241022",
)
_GLOB_CHARS = re.compile(r"[*?\[]")
# A pass-through name goes into the upstream URL path and a metrics label: keep it plain.
_PASS_THROUGH = re.compile(r"gemini-[A-Za-z0-9.\-]{1,64}")
_CREATED_AT = "2025-01-01T00:00:00Z"


class ModelCatalogue:
    """Client model names the proxy serves, from the configured model map."""

    def __init__(self, model_map: ModelMap) -> None:
        self._map = model_map
        self._upstream_models = model_map.upstream_models()
        listed = {r.pattern for r in model_map.routes if not _GLOB_CHARS.search(r.pattern)}
        listed |= self._upstream_models
        listed |= {m for m in WELL_KNOWN_CLAUDE_IDS if self._matches_route(m)}
        self._ids = sorted(listed)

    def _matches_route(self, name: str) -> bool:
        return any(_glob_match(name, route.pattern) for route in self._map.routes)

    def upstream_for(self, client_model: str) -> str | None:
        """The upstream model for `client_model`, or None when the proxy does not serve it."""
        if self._matches_route(client_model):
            return self._map.resolve(client_model)
        if client_model in self._upstream_models or _PASS_THROUGH.fullmatch(client_model):
            return client_model
        return None

    def known_ids(self) -> list[str]:
        """The ids `GET /v1/models` lists."""
        return list(self._ids)

    def info(self, model_id: str) -> dict[str, Any]:
        """The Anthropic ModelInfo of a served model id."""
        upstream = self.upstream_for(model_id) or model_id
        return {
            "type": "model",
            "id": model_id,
            "display_name": model_id if model_id == upstream else f"{model_id} (via {upstream})",
            "created_at": _CREATED_AT,
        }

    def page(self, *, after_id: str | None, before_id: str | None, limit: int) -> dict[str, Any]:
        """One page of the listing, Anthropic cursor semantics (ids are sorted)."""
        ids = self._ids
        if after_id is not None:
            ids = [i for i in ids if i > after_id]
        if before_id is not None:
            ids = [i for i in ids if i < before_id][-limit:]
        selected = ids[:limit]
        data = [self.info(i) for i in selected]
        return {
            "data": data,
            "has_more": len(ids) > len(selected),
            "first_id": selected[0] if selected else None,
            "last_id": selected[-1] if selected else None,
        }


def _glob_match(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)
