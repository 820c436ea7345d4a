"""Proxy overhead against the emulator: two plans of the bench runner and the overhead table.

    flock /tmp/compatkit-bench.lock .venv/bin/python benchmarks/proxy_overhead.py \
        [--quick] [--rounds N] [--requests N] [--concurrency N] [--seed N]
        [--baseline-root DIR] [--only sequential|steady|saturation]
        [--upstream tls,http1,h2c | --plain-upstream] [--server hypercorn|granian|both]
        [--out DIR]

The measuring is `compatkit bench`'s (loadtests._bench): this script only picks two plans,
benchmarks/plans/overhead_{sequential,steady,saturation}.toml, sizes them from the command line, runs
them, and prints the overhead: a percentile of the proxied metric minus the same percentile
measured directly against the emulator, same load, same run (the design's definition).
    direct   the emulator itself (an upstream arm: the same question in Gemini's protocol)
    h1       the proxy with ff_http2_pool_tuning off (a new HTTP/1.1 client per upstream call)
    h2pool   the same proxy with it on (one pooled HTTP/2 client)
    sequential  one request at a time, arms interleaved request by request: TTFT of streams
                and E2E of JSON bodies on an idle proxy
    steady      paced streams (50 chunks, 20 ms apart, ~1 s) arriving at 64 a second, Poisson
                (an open loop, ~64 in flight), arms in ABBA blocks: TTFT and the proxy's CPU
                per stream under load
    saturation  64 short streams back to back, zero-latency emulator, arms in ABBA blocks:
                requests per second (an arm's requests over its blocks' time), CPU per
                request, TTFT (issue 11)
`--upstream` chooses how the proxy reaches the emulator, one run of each plan per transport
named (a comma list, in that order): `tls` (the default: TLS with ALPN h2 for the pooled arm),
`http1` (plain HTTP/1.1 keep-alive; `--plain-upstream` is the same) or `h2c` (plain, the pooled
arm with upstream.http2_prior_knowledge: HTTP/2 with prior knowledge). The per-request arm is
a fresh HTTP/1.1 connection per request in every transport (over TLS with `tls`). A `h2c` run
with `--baseline-root` needs a baseline tree that knows the key (bb6d2a6 or later).
`--server NAME` runs the proxies on that ASGI server (`compatkit serve --server`); `--server
both` measures each pool arm on each, side by side in the same run: h1_hypercorn, h1_granian,
h2pool_hypercorn, h2pool_granian (process arms, in ABBA blocks), and prints granian ÷
hypercorn per figure (`h1 g/h`, `h2pool g/h`) and pooled ÷ per-request on each server.
`--baseline-root DIR` (a checkout of an earlier commit, e.g. `git worktree add /tmp/base
HEAD`) adds base_h1 and base_h2pool, the proxy of that tree, as process arms (every arm then
has a proxy of its own, every run in ABBA blocks), and prints this tree ÷ that tree per
percentile. The result files
(`--out`, default a fresh temporary folder) are the runner's results.json: `rollout-guard`
judges them like any other.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import result_format
from loadtests._bench import Arm, Plan, load_plan, make_progress, run_plan
from loadtests._common import percentile
from server.config import SERVERS

PLANS = Path(__file__).with_name("plans")
RUNS = ("sequential", "steady", "saturation")
UPSTREAMS = ("tls", "http1", "h2c")
LABEL = 30  # the width of a row's label: run, transport, metric
PRIOR_KNOWLEDGE_ENV = {"COMPATKIT_HTTP2_PRIOR_KNOWLEDGE": "on"}


def with_upstream(plan: Plan, upstream: str) -> Plan:
    """`plan` with the proxies reaching the emulator over `upstream` (one of UPSTREAMS)."""
    if upstream == "tls":
        return dataclasses.replace(plan, emulator=dataclasses.replace(plan.emulator, tls=True))
    plan = dataclasses.replace(plan, emulator=dataclasses.replace(plan.emulator, tls=False))
    if upstream == "h2c":
        proxy = dataclasses.replace(plan.proxy, env={**plan.proxy.env, **PRIOR_KNOWLEDGE_ENV})
        plan = dataclasses.replace(plan, proxy=proxy)
    return plan


def upstreams(text: str) -> tuple[str, ...]:
    """`--upstream`: a comma list of UPSTREAMS."""
    names = tuple(name.strip() for name in text.split(","))
    for name in names:
        if name not in UPSTREAMS:
            raise argparse.ArgumentTypeError(f"{name!r} is not one of {', '.join(UPSTREAMS)}")
    return names


def plan_for(run: str, args: argparse.Namespace, upstream: str = "tls") -> Plan:
    """The run's plan, sized by the command line, over `upstream`, with the baseline tree's
    arms if asked."""
    plan = load_plan(PLANS / f"overhead_{run}.toml")
    if args.quick:
        plan = plan.quick_version()
    sizes: dict[str, Any] = {}
    if args.rounds is not None:
        sizes["rounds"] = args.rounds
    if args.requests is not None:
        sizes["requests"] = args.requests
    if args.concurrency is not None and run == "saturation":
        sizes["concurrency"] = args.concurrency
    elif args.concurrency is not None and run == "steady":
        sizes["rate"] = float(args.concurrency)  # 1 s streams: N a second keep ~N in flight
    plan = dataclasses.replace(plan, load=dataclasses.replace(plan.load, **sizes), seed=args.seed)
    plan = with_upstream(plan, upstream)
    if args.server in SERVERS:
        env = {**plan.proxy.env, "COMPATKIT_SERVER": args.server}
        plan = dataclasses.replace(plan, proxy=dataclasses.replace(plan.proxy, env=env))
    elif args.server == "both":
        return _on_every_server(plan)
    if args.baseline_root is None:
        return plan
    root = args.baseline_root.resolve()
    arms = [arm for arm in plan.arms if arm.kind == "upstream"]
    for arm in plan.arms:
        if arm.kind == "flag":
            arms.append(dataclasses.replace(arm, kind="process"))
            arms.append(
                Arm(f"base_{arm.name}", "other", "process", dict(arm.flags), root=root,
                    description=f"{arm.name} of {root}")
            )  # fmt: skip
    # ABBA blocks in every run: five processes taking turns request by request (the sequential
    # run's duet) doubled every arm's latency, the emulator's own included (direct TTFT p50
    # 0.31 -> 0.45 ms), so the run measured cold caches rather than the proxies
    load = dataclasses.replace(plan.load, interleave="block")
    return dataclasses.replace(plan, arms=tuple(arms), load=load)


def _on_every_server(plan: Plan) -> Plan:
    """Each flag arm as one process arm per ASGI server (`<arm>_<server>`)."""
    arms = [arm for arm in plan.arms if arm.kind == "upstream"]
    for arm in plan.arms:
        if arm.kind == "flag":
            arms += [
                dataclasses.replace(arm, name=f"{arm.name}_{server}", kind="process",
                                    env={"COMPATKIT_SERVER": server},
                                    description=f"{arm.name} on {server}")
                for server in SERVERS
            ]  # fmt: skip
    # ABBA blocks in every run, as measured (process arms would otherwise run at once)
    load = dataclasses.replace(plan.load, interleave="block")
    return dataclasses.replace(plan, arms=tuple(arms), load=load)


def _figures(doc: dict[str, Any], arm: str, stream: bool) -> dict[str, float | None]:
    """p50 / p99 (ms) of TTFT for streams or E2E for JSON bodies over the arm's valid blocks,
    the proxy's CPU ms per request, requests per second over the arm's blocks (meaningful where
    arms run in blocks) and the client's highest CPU share of a block."""
    blocks = [b for b in doc["blocks"] if b["arm"] == arm]
    valid = [b for b in blocks if b["validity"]["status"] == "valid"]
    metric = "ttft_ms" if stream else "e2e_ms"
    values = [s[metric] for b in valid for s in b["samples"]
              if s.get("stream") == stream and s["error"] is None and s.get(metric) is not None]  # fmt: skip
    cpu = [b["resources"]["proxy_cpu_s"] for b in valid]
    count = sum(len(b["samples"]) + b["warmup_requests"] for b in valid)
    per_request = None
    if cpu and all(c is not None for c in cpu):
        per_request = 1000 * sum(cpu) / count
    seconds = sum(b["ended_s"] - b["started_s"] for b in valid)
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "cpu_ms": per_request,
        "rate": count / seconds if seconds > 0 else None,
        "client": max((b["resources"]["client_cpu_share"] or 0.0 for b in blocks), default=None),
        "inconclusive": len(blocks) - len(valid),
    }


def report(run: str, doc: dict[str, Any]) -> list[str]:
    arms = [arm["name"] for arm in doc["arms"]]
    in_blocks = doc["plan"]["load"]["interleave"] == "block"
    kinds = sorted(
        {s.get("stream", True) for b in doc["blocks"] for s in b["samples"]}, reverse=True
    )
    lines = []
    for stream in kinds:
        label = f"{run} {'stream TTFT' if stream else 'JSON E2E'}"
        rows = {arm: _figures(doc, arm, stream) for arm in arms}
        direct = rows.get("direct")
        for arm, f in rows.items():
            text = f"{label:<{LABEL}}{arm:<13}{f['n']:>6}{_ms(f['p50']):>9}{_ms(f['p99']):>9}"
            if direct is not None and arm != "direct" and None not in (f["p50"], direct["p50"]):
                text += f"{_ms(f['p50'] - direct['p50']):>10}{_ms(f['p99'] - direct['p99']):>10}"  # type: ignore[operator]
            else:
                text += " " * 20
            text += f"{_ms(f['cpu_ms']):>11}{_share(f['client']):>9}"
            text += f"{f['rate']:>8.0f}" if in_blocks and f["rate"] is not None else f"{'-':>8}"
            if f["inconclusive"]:
                text += f"  {f['inconclusive']} block(s) INCONCLUSIVE"
            lines.append(text)
        for arm in ("h1", "h2pool"):
            lines += _server_ratios(label, arm, rows)
            base = rows.get(f"base_{arm}")
            if base is not None and None not in (base["p50"], base["p99"], rows[arm]["p50"]):
                ratio_50 = rows[arm]["p50"] / base["p50"]  # type: ignore[operator]
                ratio_99 = rows[arm]["p99"] / base["p99"]  # type: ignore[operator]
                lines.append(
                    f"{label:<{LABEL}}{arm + '/base':<13}{'':>6}{ratio_50:>9.2f}{ratio_99:>9.2f}"
                )
        for suffix in ("", *(f"_{server}" for server in SERVERS)):
            pooled, fresh = rows.get("h2pool" + suffix), rows.get("h1" + suffix)
            if in_blocks and pooled is not None and fresh is not None:
                name = f"h2pool/h1{suffix}"
                lines.append(f"{label:<{LABEL}}{name:<13}" + _ratios(pooled, fresh))
    return lines


def _ratios(pooled: dict[str, float | None], fresh: dict[str, float | None]) -> str:
    """The pooled arm over the per-request arm: req/s and CPU per request (the issue 11 target:
    req/s >= 1.3, CPU <= 1), TTFT p50 and p99."""
    parts = []
    for name, key in (("req/s", "rate"), ("CPU/req", "cpu_ms"), ("p50", "p50"), ("p99", "p99")):
        a, b = pooled[key], fresh[key]
        parts.append(f"{name} {a / b:.2f}x" if a is not None and b else f"{name} -")
    return "  ".join(parts)


def _server_ratios(label: str, arm: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    """granian ÷ hypercorn of an arm measured on both: p50, p99, CPU per request, req/s."""
    granian, hypercorn = rows.get(f"{arm}_granian"), rows.get(f"{arm}_hypercorn")
    if granian is None or hypercorn is None:
        return []
    ratios = [
        granian[key] / hypercorn[key] if granian[key] and hypercorn[key] else None
        for key in ("p50", "p99", "cpu_ms", "rate")
    ]
    text = "".join(f"{'-' if r is None else f'{r:.2f}':>9}" for r in ratios[:2])
    text += " " * 20 + f"{'-' if ratios[2] is None else f'{ratios[2]:.2f}':>11}" + " " * 9
    text += f"{'-' if ratios[3] is None else f'{ratios[3]:.2f}':>8}"
    return [f"{label:<{LABEL}}{arm + ' g/h':<13}{'':>6}{text}"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the plans' CI sizes")
    parser.add_argument("--rounds", type=int, help="rounds per plan")
    parser.add_argument("--requests", type=int, help="measured requests per arm per round")
    parser.add_argument(
        "--concurrency",
        type=int,
        help="streams in flight (saturation); streams started a second (steady)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-root", type=Path, help="also measure the proxy of this tree")
    parser.add_argument("--only", choices=RUNS, help="run one of the plans")
    parser.add_argument(
        "--upstream", type=upstreams, default=("tls",),
        help="how the proxy reaches the emulator: a comma list of tls, http1, h2c (one run each)",
    )  # fmt: skip
    parser.add_argument(
        "--plain-upstream", action="store_true", help="the same as --upstream http1"
    )
    parser.add_argument(
        "--server",
        choices=(*SERVERS, "both"),
        help="the proxies' ASGI server; both: every pool arm on each, side by side",
    )
    parser.add_argument("--out", type=Path, help="where the result files go")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="compatkit-overhead-"))
    lines = [
        f"{'run':<{LABEL}}{'arm':<13}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'+p50 ms':>10}{'+p99 ms':>10}"
        f"{'CPU ms/req':>11}{'client':>9}{'req/s':>8}"
    ]
    chosen = ("http1",) if args.plain_upstream else args.upstream
    for upstream in chosen:
        for run in RUNS if args.only is None else (args.only,):
            folder = out / run if len(chosen) == 1 else out / upstream / run
            path = run_plan(plan_for(run, args, upstream), folder, progress=make_progress())
            label = run if len(chosen) == 1 else f"{run} {upstream}"
            lines += report(label, result_format.load(path))
            lines.append(f"{'':<{LABEL}}(results: {path})")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
