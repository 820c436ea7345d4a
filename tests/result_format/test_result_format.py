"""result_format: valid documents round-trip; a bad file is refused in one line naming the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

import result_format
from result_format import ResultFormatError
from tests.result_format.documents import block, document, result_documents


def _valid() -> dict[str, Any]:
    return document([block("baseline", 0, [1.0, 2.0]), block("candidate", 0, [1.5, 2.5])])


@given(result_documents())
def test_every_valid_document_round_trips_through_a_file(tmp_path_factory: Any, doc: Any) -> None:
    path = tmp_path_factory.mktemp("rf") / "results.json"
    result_format.dump(doc, path)
    assert result_format.load(path) == doc


def test_the_schema_is_a_2020_12_schema_of_version_1() -> None:
    assert result_format.schema()["$schema"].endswith("2020-12/schema")
    assert result_format.schema()["properties"]["version"] == {"const": 1}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["blocks"][1]["samples"][1].update(ttft_ms=-1),
            "blocks[1].samples[1].ttft_ms: -1 is less than the minimum of 0",
        ),
        (lambda d: d["blocks"][0].pop("validity"), "blocks[0]: 'validity' is a required property"),
        (
            lambda d: d["blocks"][0]["samples"][0].update(status=700),
            "blocks[0].samples[0].status: 700 is greater than the maximum of 599",
        ),
        (
            lambda d: d["blocks"][0]["samples"][0].update(error={"kind": "boom", "type": "x"}),
            "blocks[0].samples[0].error",
        ),
        (lambda d: d.update(format="something-else"), "format: 'compatkit-results' was expected"),
        (lambda d: d["arms"][0].update(role="control"), "arms[0].role: 'control' is not one of"),
        (lambda d: d.update(surprise=1), "(top level): Additional properties are not allowed"),
    ],
)
def test_a_schema_violation_names_the_field(mutate: Any, expected: str) -> None:
    doc = _valid()
    mutate(doc)
    with pytest.raises(ResultFormatError) as raised:
        result_format.validate(doc, source="r.json")
    assert str(raised.value).startswith("r.json: ")
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["blocks"][0].update(arm="ghost"),
            "blocks[0].arm: 'ghost' is not a declared arm (baseline, candidate)",
        ),
        (
            lambda d: d["arms"].append(copy.deepcopy(d["arms"][0])),
            "arms[2].name: 'baseline' is declared twice",
        ),
        (
            lambda d: d["arms"][0].update(tree="base"),
            "arms[0].tree: 'base' is not in environment.trees",
        ),
        (
            lambda d: d["blocks"][0].update(started_s=10.0, ended_s=5.0),
            "blocks[0].ended_s: 5.0 is before started_s 10.0",
        ),
        (
            lambda d: d["blocks"][0]["samples"][0].update(e2e_ms=float("nan")),
            "blocks[0].samples[0].e2e_ms: nan is not a finite number",
        ),
        (
            lambda d: d["blocks"][0]["samples"][0].update(lag_ms=float("inf")),
            "blocks[0].samples[0].lag_ms: inf is not a finite number",
        ),
    ],
)
def test_what_a_schema_cannot_say_is_checked_too(mutate: Any, expected: str) -> None:
    doc = _valid()
    mutate(doc)
    with pytest.raises(ResultFormatError, match=r"^r\.json: ") as raised:
        result_format.validate(doc, source="r.json")
    assert expected in str(raised.value)


def test_another_version_is_refused_by_its_number() -> None:
    doc = _valid()
    doc["version"] = 2
    with pytest.raises(ResultFormatError, match=r"^r\.json: version: 2 is not supported"):
        result_format.validate(doc, source="r.json")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "not JSON: Expecting property name enclosed in double quotes at line 1"),
        (b"\xff\xfe{}", "cannot read"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"[]", "(top level): [] is not of type 'object'"),
    ],
)
def test_a_file_that_is_not_a_result_file_is_refused_in_one_line(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(content)
    with pytest.raises(ResultFormatError) as raised:
        result_format.load(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert expected in str(raised.value)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ResultFormatError, match="No such file or directory"):
        result_format.load(tmp_path / "absent.json")


def test_an_invalid_document_is_never_written(tmp_path: Path) -> None:
    doc = _valid()
    doc["blocks"][0]["samples"][0]["e2e_ms"] = -5
    with pytest.raises(ResultFormatError):
        result_format.dump(doc, tmp_path / "results.json")
    assert not (tmp_path / "results.json").exists()


def test_a_written_file_is_plain_json_a_person_can_read(tmp_path: Path) -> None:
    result_format.dump(_valid(), tmp_path / "results.json")
    text = (tmp_path / "results.json").read_text("utf-8")
    assert json.loads(text)["format"] == "compatkit-results"
    assert text.count("\n") > 20
