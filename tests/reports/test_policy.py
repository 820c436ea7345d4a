"""reports.policy: defaults per track, files merged key by key, every mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.policy import PolicyError, load_policy
from reports.vocabulary import parse_quantile


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, "utf-8")
    return path


def test_the_default_policy_has_a_table_for_each_track_with_its_expected_win() -> None:
    book = load_policy()
    assert set(book.tracks) == {
        "ff_retry_policy_v2",
        "ff_http2_pool_tuning",
        "ff_converter_fast_path",
        "ff_preview_credential_scheduler_v2",
    }
    assert book.for_track("ff_http2_pool_tuning").improve == ("ttfb.p50",)
    assert book.for_track("ff_converter_fast_path").expects("cpu_per_request", "mean")
    assert book.for_track("ff_retry_policy_v2").expects("success_rate")
    assert book.for_track(None).improve == ()
    unknown = book.for_track("an_unknown_track")
    assert (unknown.track, unknown.improve) == ("an_unknown_track", ())


def test_tolerances_and_floors_fall_back_from_metric_to_statistic(tmp_path: Path) -> None:
    policy = load_policy(
        write(
            tmp_path,
            "[tolerance]\np99 = 0.2\n[tolerance.itl]\np99 = 0.3\n[floor_ms.ttft]\np50 = 1\n",
        )
    ).for_track(None)
    assert policy.tolerance_for("ttft", "p99") == 0.2
    assert policy.tolerance_for("itl", "p99") == 0.3
    assert policy.tolerance_for("itl", "p50") == 0.05  # the default's
    assert policy.floor_for("ttft", "p50") == 1.0
    assert policy.floor_for("e2e", "p50") == 0.1


def test_a_track_table_overrides_the_top_level_key_by_key(tmp_path: Path) -> None:
    book = load_policy(
        write(
            tmp_path,
            "confidence = 0.9\n[tracks.mine]\nmin_rounds = 5\n[tracks.mine.tolerance]\np50 = 0.01\n",
        )
    )
    mine = book.for_track("mine")
    assert (mine.confidence, mine.min_rounds, mine.tolerance_for("ttft", "p50")) == (0.9, 5, 0.01)
    assert mine.tolerance_for("ttft", "p99") == 0.10
    assert book.for_track(None).min_rounds == 3


def test_quantiles_parse_as_fractions() -> None:
    assert load_policy().for_track(None).quantile_levels == (0.5, 0.9, 0.99)
    assert parse_quantile("p99.9") == pytest.approx(0.999)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("confidance = 0.9", "policy.toml: confidance: unknown key (known: "),
        ("confidence = 1.5", "policy.toml: confidence: 1.5 is not in [0.5, 1)"),
        ("confidence = '95%'", "policy.toml: confidence: '95%' is not a number"),
        ("resamples = 10", "policy.toml: resamples: 10 is fewer than 100"),
        ("min_rounds = 2.5", "policy.toml: min_rounds: 2.5 is not a whole number"),
        ("coordinated_omission = 1", "policy.toml: coordinated_omission: 1 is not a bool"),
        ("metrics = ['latency']", "policy.toml: metrics: 'latency' is not a judged metric"),
        ("quantiles = ['p999']", "policy.toml: quantiles: 'p999' is not a quantile"),
        ("quantiles = ['p95', 'p42']", "policy.toml: tolerance: no value for ttfb p42"),
        ("improve = ['ttfb']", "policy.toml: improve: 'ttfb' is not a metric to improve"),
        ("improve = ['ttfb.p9x']", "policy.toml: improve: 'ttfb.p9x': 'p9x' is not a quantile"),
        ("[tolerance]\np50 = -0.1", "policy.toml: tolerance.p50: -0.1 is not a number >= 0"),
        ("[tolerance.latency]\np50 = 0.1", "policy.toml: tolerance.latency: not a judged metric"),
        (
            "[tracks.x]\nconfidence = 2.0",
            "policy.toml: tracks.x.confidence: 2.0 is not in [0.5, 1)",
        ),
        ("[tracks.x]\ntracks = 1", "policy.toml: tracks.x.tracks: unknown key"),
        ("tracks = 3", "policy.toml: tracks: must be a table"),
        (
            "error_rate_max_increase = 2",
            "policy.toml: error_rate_max_increase: 2 is not a fraction",
        ),
        ("confidence = ", "policy.toml: not TOML: "),
    ],
)
def test_a_mistake_is_one_line_naming_the_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        load_policy(write(tmp_path, text))
    assert str(raised.value).startswith(str(tmp_path / message.split(":")[0]))
    assert message.split(": ", 1)[1] in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nope\.toml: cannot read: No such file"):
        load_policy(tmp_path / "nope.toml")
