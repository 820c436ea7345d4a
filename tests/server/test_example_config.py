"""examples/compatkit.toml, the documented example configuration (issue 16.11).

Rules checked: it loads through the real loader with no error and no warning, and it is a
servable configuration; every key the loader knows appears in its section (set, or commented
out where it conflicts with a key set), so a key added to the loader fails here until it is
documented; every numeric key's range is written beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.config import RANGES, check_servable, known_keys, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "compatkit.toml"


def sections(text: str) -> dict[str, str]:
    """The text of each `[section]` of the example, by name."""
    parts = re.split(r"^\[(\w+)\]\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_example_loads_through_the_real_loader_and_can_be_served() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.warnings == ()
    check_servable(config)
    assert config.upstream is not None and config.upstream.kind == "gemini"
    assert config.sources["server.port"] == str(EXAMPLE)


@pytest.mark.parametrize("key", sorted(known_keys()))
def test_every_key_the_loader_knows_is_in_the_example(key: str) -> None:
    section, name = key.split(".")
    text = sections(EXAMPLE.read_text("utf-8")).get(section, "")
    assert re.search(rf"^(# )?{name} = ", text, flags=re.MULTILINE), f"{key} is not in {EXAMPLE}"
    env = known_keys()[key]
    if env is not None and not env.startswith("COMPATKIT_FF_"):  # flags: COMPATKIT_FF_<NAME>
        assert env in text, f"{key}: its variable {env} is not named"


@pytest.mark.parametrize("key", sorted(RANGES))
def test_every_numeric_key_has_its_range_beside_it(key: str) -> None:
    section, _ = key.split(".")
    written = "-".join(number_text(bound) for bound in RANGES[key])
    text = sections(EXAMPLE.read_text("utf-8"))[section]
    assert written in text, f"{key}: the range {written} is not written"


def number_text(number: float) -> str:
    """A bound as the example writes it: 1073741824, 300, 0.5."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))
