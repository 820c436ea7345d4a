"""compatkit's options: checked at start, a bad one named in one line by its option."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loadtests._locust._options import DEFAULT_KEY, Settings, SettingsError, parse_mix


def test_defaults_are_a_local_proxy_s_plain_run() -> None:
    settings = Settings.parse()
    assert settings == Settings()
    assert (settings.key, settings.model, settings.scenario, settings.mix) == (
        DEFAULT_KEY, None, None, None)  # fmt: skip
    assert (settings.shape, settings.results, settings.arm, settings.role) == (
        "steady", None, "locust", "candidate")  # fmt: skip


def test_the_mix_gives_weights_by_user_name() -> None:
    assert parse_mix(" anthropic = 4, agent=2 ,count_tokens=0") == {
        "anthropic": 4, "agent": 2, "count_tokens": 0}  # fmt: skip
    assert parse_mix("") is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mix": "anthropc=1"}, "--compatkit-mix: unknown user 'anthropc' (known: anthropic,"),
        ({"mix": "anthropic"}, "--compatkit-mix: 'anthropic' is not NAME=WEIGHT"),
        ({"mix": "anthropic=0"}, "--compatkit-mix: every weight is 0"),
        ({"scenario": "rate limited"}, "--compatkit-scenario: scenario 'rate limited'"),
        ({"arm": "my arm"}, "--compatkit-arm 'my arm'"),
        ({"timeout": 0}, "--compatkit-timeout 0: must be more than 0"),
        ({"agent_turns": 0}, "--compatkit-agent-turns 0: must be 1 or more"),
        ({"shape": "sawtooth"}, "--compatkit-shape 'sawtooth': one of steady, ramp"),
    ],
)
def test_a_bad_value_is_named_by_its_option(values: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.parse(**values)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_the_modules_that_need_no_locust_do_not_import_it() -> None:
    """Importing locust monkey-patches the process for gevent: a test process must not."""
    script = (
        "import sys\n"
        "import loadtests._locust._options, loadtests._locust._failures\n"
        "import loadtests._locust._conversation, loadtests._locust._run\n"
        "print('locust' in sys.modules, 'gevent' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert done.stdout.split() == ["False", "False"]
