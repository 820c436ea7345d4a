"""The load shapes' ticks over time, sized by -u / -r / -t.

Asked in a subprocess: the shapes are LoadTestShape classes, and importing locust
monkey-patches the whole process for gevent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

SCRIPT = """
import json, logging, sys
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
from types import SimpleNamespace
from loadtests._locust import _shapes

def ticks(name, options, times):
    shape = getattr(_shapes, name)()
    total = SimpleNamespace(num_requests=10, num_failures=1)  # what Soak logs per window
    shape.runner = SimpleNamespace(environment=SimpleNamespace(parsed_options=options),
                                   stats=SimpleNamespace(total=total, entries={}))
    out = []
    for t in times:
        shape.start_time = 1000.0 - t
        _shapes.time.perf_counter = lambda: 1000.0
        out.append(shape.tick())
    return [out, shape.current_scenario()]

cases = json.loads(sys.argv[1])
print(json.dumps([ticks(name, SimpleNamespace(**options), times) for name, options, times in cases]))
"""


def run(*cases: tuple[str, dict[str, Any], list[float]]) -> tuple[list[Any], str]:
    """Each case's ticks and the shape's scenario; what the shapes logged."""
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(cases)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def ticks(*cases: tuple[str, dict[str, Any], list[float]]) -> list[Any]:
    return run(*cases)[0]


def test_each_shape_follows_its_plan() -> None:
    sized = {"num_users": 32, "spawn_rate": 8, "run_time": 80}
    steady, ramp, spike, storm, endless = ticks(
        ("Steady", sized, [0, 79, 80]),
        ("Ramp", sized, [0, 9.9, 10, 45, 79, 80]),
        ("Spike", sized, [0, 31, 33, 47, 49, 79, 80]),
        ("Storm", sized, [0, 80]),
        ("Steady", {"num_users": None, "spawn_rate": None, "run_time": None}, [0, 10_000]),
    )
    assert steady == [[[32, 8.0], [32, 8.0], None], None]
    assert ramp == [[[4, 8.0], [4, 8.0], [8, 8.0], [20, 8.0], [32, 8.0], None], None]
    assert spike == [[[8, 32.0], [8, 32.0], [32, 32.0], [32, 32.0], [8, 32.0], [8, 32.0],
                      None], None]  # fmt: skip
    assert storm == [[[32, 8.0], None], "rate_limited"]
    assert endless == [[[32, 8.0], [32, 8.0]], None]  # no -t: until stopped


def test_without_a_run_time_the_bounded_shapes_take_their_own() -> None:
    unsized = {"num_users": 16, "spawn_rate": 4, "run_time": None}
    [(ramp, _), (spike, _), (soak, _)] = ticks(
        ("Ramp", unsized, [0, 239, 240]), ("Spike", unsized, [0, 119, 120]),
        ("Soak", unsized, [0, 3599, 3600]),
    )  # fmt: skip
    assert ramp == [[2, 4.0], [16, 4.0], None]
    assert spike == [[4, 16.0], [4, 16.0], None]
    assert soak == [[16, 4.0], [16, 4.0], None]


def test_compatkit_shape_runs_the_shape_its_option_names() -> None:
    sized = {"num_users": 8, "spawn_rate": 8, "run_time": 80}
    [(ramp, _), (storm, scenario), (default, _)] = ticks(
        ("CompatkitShape", {**sized, "compatkit_shape": "ramp"}, [0, 79, 80]),
        ("CompatkitShape", {**sized, "compatkit_shape": "storm"}, [0]),
        ("CompatkitShape", sized, [0, 80]),
    )
    assert ramp == [[1, 8.0], [8, 8.0], None]
    assert (storm, scenario) == ([[8, 8.0]], "rate_limited")
    assert default == [[8, 8.0], None]


def test_the_soak_logs_each_window_with_the_proxy_s_memory() -> None:
    options = {"num_users": 4, "spawn_rate": 4, "run_time": 600, "compatkit_proxy_pid": os.getpid()}
    [(soak, _)], logged = run(("Soak", options, [0, 30, 61, 125]))
    assert soak == [[4, 4.0]] * 4
    windows = [line for line in logged.splitlines() if line.startswith("soak at")]
    assert len(windows) == 2  # at 61 s and 125 s: one line per minute passed
    assert "10 requests in the last window, error rate 10.00 %" in windows[0]
    assert "0 requests in the last window" in windows[1]
    assert "proxy RSS" in windows[0] and "(+0.0 since the first window)" in windows[0]
