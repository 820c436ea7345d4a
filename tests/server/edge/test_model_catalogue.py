"""The model catalogue: which client names the proxy serves, and the Anthropic listing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.config import ModelMap, ModelRoute
from server.edge.model_catalogue import ModelCatalogue

CATALOGUE = ModelCatalogue(
    ModelMap(
        routes=(
            ModelRoute("claude-*haiku*", "gemini-2.5-flash"),
            ModelRoute("claude-*", "gemini-2.5-pro"),
            ModelRoute("my-model", "gemini-2.0-flash"),
        ),
        scarce=frozenset({"gemini-3-pro-preview"}),
    )
)


def test_routes_resolve_in_order_and_upstream_names_pass_through() -> None:
    assert CATALOGUE.upstream_for("claude-haiku-4-5") == "gemini-2.5-flash"
    assert CATALOGUE.upstream_for("claude-opus-4-1") == "gemini-2.5-pro"
    assert CATALOGUE.upstream_for("my-model") == "gemini-2.0-flash"
    assert CATALOGUE.upstream_for("gemini-3-pro-preview") == "gemini-3-pro-preview"
    assert CATALOGUE.upstream_for("gemini-2.5-flash-lite") == "gemini-2.5-flash-lite"


def test_unknown_and_unsafe_names_are_not_served() -> None:
    for name in ["gpt-4o", "llama", "", "gemini-", "gemini-../x", "gemini-a/b", "gemini-a?b"]:
        assert CATALOGUE.upstream_for(name) is None


def test_listing_has_concrete_patterns_upstream_models_and_known_claude_ids() -> None:
    ids = CATALOGUE.known_ids()
    assert ids == sorted(ids)
    assert {"my-model", "gemini-2.5-pro", "gemini-3-pro-preview"} <= set(ids)
    assert "claude-sonnet-4-5-20250929" in ids and "claude-*" not in ids
    assert all(CATALOGUE.upstream_for(i) is not None for i in ids)


@given(limit=st.integers(1, 5))
def test_paging_with_after_id_visits_every_id_once_in_order(limit: int) -> None:
    seen: list[str] = []
    after: str | None = None
    while True:
        page = CATALOGUE.page(after_id=after, before_id=None, limit=limit)
        seen += [model["id"] for model in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == CATALOGUE.known_ids()


def test_before_id_pages_backwards() -> None:
    ids = CATALOGUE.known_ids()
    page = CATALOGUE.page(after_id=None, before_id=ids[-1], limit=2)
    assert [m["id"] for m in page["data"]] == ids[-3:-1]
