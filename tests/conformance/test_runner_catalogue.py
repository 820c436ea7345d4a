"""conformance.runner.catalogue: the cases are data, validated when read; a typo fails loudly,
naming the file, the case and the key."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conformance.runner.catalogue import (
    FLAVORS,
    CatalogueError,
    in_run_order,
    load_catalogue,
    select,
)
from conformance.runner.client import Target, build_request
from conformance.runner.oracle import CHECKS, describe

CATALOGUE = load_catalogue()


def test_the_catalogue_has_over_a_hundred_cases_for_each_flavour() -> None:
    for flavor in FLAVORS:
        assert len(select(CATALOGUE, flavor=flavor)) >= 100
    assert len({case.id for case in CATALOGUE}) == len(CATALOGUE)


def test_every_case_says_its_level_section_and_what_it_checks() -> None:
    for case in CATALOGUE:
        assert case.level in {"MUST", "SHOULD", "INFO"}
        assert case.section and case.description.endswith(".")
        assert case.checks()


def test_the_catalogue_covers_every_area_of_the_issue() -> None:
    categories = Counter(case.category for case in CATALOGUE)
    for area in (
        "request",
        "schema",
        "thinking",
        "unicode",
        "response",
        "stream",
        "errors",
        "retry",
        "auth",
        "input",
        "count_tokens",
        "models",
        "openai",
        "flavor",
    ):
        assert categories[area] >= 3 if area != "models" else categories[area] >= 2, area


def test_every_check_has_a_rule_a_report_can_show() -> None:
    for name in CHECKS:
        assert describe(name), name


def test_every_case_request_can_be_built() -> None:
    target = Target("http://proxy", "key", "gemini-api")
    for case in CATALOGUE:
        request = build_request(case, target)
        assert request.path.startswith("/v1/"), case.id


def test_session_cases_run_after_the_others_and_disruptive_ones_last() -> None:
    ordered = in_run_order(CATALOGUE)
    kinds = [2 if c.disruptive else 1 if c.route == "session" else 0 for c in ordered]
    assert kinds == sorted(kinds) and kinds[-1] == 2


def test_select_takes_ids_prefixes_and_levels() -> None:
    assert [c.id for c in select(CATALOGUE, ids=["request.text.string"])] == ["request.text.string"]
    assert all(c.id.startswith("stream.") for c in select(CATALOGUE, ids=["stream.*"]))
    assert {c.level for c in select(CATALOGUE, level="SHOULD")} == {"SHOULD"}
    assert all("code-assist" in c.flavors for c in select(CATALOGUE, flavor="code-assist"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cases.toml"
    path.write_text('category = "t"\n' + text)
    return path


GOOD = 'id = "t.one"\nlevel = "MUST"\nsection = "A.1"\ndescription = "d."\n'


@pytest.mark.parametrize(
    ("case", "named"),
    [
        (GOOD + "expect = { nonsense = true }", "expect.nonsense is not a known check"),
        (GOOD.replace('"MUST"', '"MAY"') + "expect = { status = 200 }", "level 'MAY'"),
        (
            GOOD.replace('section = "A.1"\n', "") + "expect = { status = 200 }",
            "section is required",
        ),
        (GOOD + 'colour = "red"\nexpect = { status = 200 }', "unknown key 'colour'"),
        (GOOD + 'body = "no_such"\nexpect = { status = 200 }', "body 'no_such'"),
        (GOOD + "tools_json = '{oops'\nexpect = { status = 200 }", "tools_json is not JSON"),
        (GOOD, "a case checks something"),
        (GOOD + 'raw_body = "{}"\nrequest = {}\nexpect = { status = 200 }', "one of request"),
        (GOOD.replace('"MUST"', '"SHOULD"') + "should = { status = 200 }", "should is for MUST"),
    ],
)
def test_a_bad_case_is_refused_naming_it(tmp_path: Path, case: str, named: str) -> None:
    with pytest.raises(CatalogueError, match=r"t\.one|cases\.toml") as error:
        load_catalogue([write(tmp_path, "[[case]]\n" + case)])
    assert named in str(error.value)


def test_a_duplicate_id_is_refused(tmp_path: Path) -> None:
    case = "[[case]]\n" + GOOD + "expect = { status = 200 }\n"
    with pytest.raises(CatalogueError, match="used twice"):
        load_catalogue([write(tmp_path, case + case)])


def test_defaults_apply_and_request_tables_merge(tmp_path: Path) -> None:
    text = (
        "[defaults]\nstream = true\nrequest = { max_tokens = 9, messages = [] }\n"
        "expect = { status = 200 }\n"
        "[[case]]\n" + GOOD + "request = { temperature = 0.5 }\n"
        "[[case]]\n" + GOOD.replace("t.one", "t.two") + 'body = "empty"\n'
    )
    one, two = load_catalogue([write(tmp_path, text)])
    assert one.stream and one.request == {"max_tokens": 9, "messages": [], "temperature": 0.5}
    assert two.request is None and two.body == "empty"
