"""The shared Redis store's cost per request against the embedded SQLite store, in one run.

    flock /tmp/compatkit-bench.lock .venv/bin/python -m benchmarks.state_store_overhead \
        [--quick] [--rounds N] [--requests N] [--concurrency N] [--max-in-flight N]
        [--seed N] [--out DIR]

The measuring is `compatkit bench`'s (loadtests._bench), on benchmarks/plans/state_store.toml:
this script starts a real redis-server on a free port (stopped at the end, in every case),
points the `redis` arm at it (COMPATKIT_STATE_URL) and the `sqlite` arm at a fresh SQLite file
(COMPATKIT_STATE_PATH), runs the plan and prints, per workload, p50 / p99 of each arm, the
overhead over the emulator asked directly, the proxy's CPU per request, and what issue 14's
target is about: redis - sqlite at p50 (target: at most +0.2 ms) and redis / sqlite.
`--max-in-flight N` sets upstream.max_in_flight on both proxy arms: the Redis arm then takes
each credential lease in Redis (one script per request), the SQLite arm counts it in memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import result_format
from benchmarks.proxy_overhead import report
from loadtests._bench import load_plan, make_progress, run_plan
from loadtests._common import percentile
from tests.server.state.redis_server import RedisServer

PLAN = Path(__file__).with_name("plans") / "state_store.toml"
TARGET_MS = 0.2


def compare(doc: dict[str, Any], out: list[str]) -> None:
    """redis - sqlite and redis / sqlite at p50 and p99, per workload."""
    for stream, metric in ((True, "ttft_ms"), (False, "e2e_ms")):
        p: dict[str, list[float]] = {}
        for arm in ("sqlite", "redis"):
            p[arm] = [
                s[metric]
                for b in doc["blocks"]
                if b["arm"] == arm and b["validity"]["status"] == "valid"
                for s in b["samples"]
                if s.get("stream") == stream and s["error"] is None and s.get(metric) is not None
            ]
        if not p["sqlite"] or not p["redis"]:
            continue
        label = "stream TTFT" if stream else "JSON E2E"
        for q in (50, 99):
            base, cand = percentile(p["sqlite"], q), percentile(p["redis"], q)
            verdict = ""
            if q == 50:
                verdict = "within" if cand - base <= TARGET_MS else "OVER"
                verdict = f"  ({verdict} the +{TARGET_MS} ms target)"
            out.append(
                f"{label:<12} p{q}: sqlite {base:.3f} ms, redis {cand:.3f} ms, "
                f"redis - sqlite {cand - base:+.3f} ms, redis / sqlite {cand / base:.3f}{verdict}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the plan's CI sizes")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--requests", type=int, help="measured requests per arm per round")
    parser.add_argument("--concurrency", type=int, help="requests in flight (default 1)")
    parser.add_argument(
        "--max-in-flight", type=int, help="upstream.max_in_flight on both proxy arms"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="where the result files go")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="compatkit-state-store-"))
    plan = load_plan(PLAN)
    if args.quick:
        plan = plan.quick_version()
    sizes = {
        k: v
        for k, v in (
            ("rounds", args.rounds),
            ("requests", args.requests),
            ("concurrency", args.concurrency),
        )
        if v is not None
    }
    plan = dataclasses.replace(plan, load=dataclasses.replace(plan.load, **sizes), seed=args.seed)
    out.mkdir(parents=True, exist_ok=True)
    with RedisServer(out) as redis:  # the tests' helper: a free port, ready on PING
        env = {
            "sqlite": {"COMPATKIT_STATE_PATH": str(out / "state.sqlite3")},
            "redis": {"COMPATKIT_STATE_URL": redis.url, "COMPATKIT_STATE_PREFIX": "bench:"},
        }
        if args.max_in_flight is not None:
            for arm_env in env.values():
                arm_env["COMPATKIT_MAX_IN_FLIGHT"] = str(args.max_in_flight)
        arms = tuple(
            dataclasses.replace(a, env={**a.env, **env[a.name]}) if a.name in env else a
            for a in plan.arms
        )
        path = run_plan(dataclasses.replace(plan, arms=arms), out / "run", progress=make_progress())
    doc = result_format.load(path)
    lines = [
        f"{'run':<26}{'arm':<13}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'+p50 ms':>10}{'+p99 ms':>10}"
        f"{'CPU ms/req':>11}{'client':>9}"
    ]
    lines += report("state_store", doc)
    compare(doc, lines)
    lines.append(f"(results: {path})")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
