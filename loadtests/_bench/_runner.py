"""One benchmark run: start the servers, measure every block, write results.json.

Operations
    await execute(plan, out_dir, *, progress, command) -> Path

Plan
    1. Start what the arms need, each a real process on 127.0.0.1: the emulator (`compatkit
       emulate`, TLS + ALPN h2 unless the plan says otherwise; in a delayed network namespace
       when asked and possible), one proxy for flag arms or one per process arm (`compatkit
       serve`; ready once it answers a real request). URL arms are only checked to answer.
    2. For each round, the blocks in order: arms interleaved request by request form one
       group (one block per arm: flag arms in one proxy, or process arms each in its own,
       running at once); otherwise each arm is a group of its own, in ABBA order. A
       group: (restart its proxy,) reset the emulator, send warm-up plus measured requests on the
       round's schedule (the same seeded arrivals and workloads for every arm of the round),
       then read each proxy's CPU and RSS from /proc (an arm's own where no other arm of the
       group shares its process), the client's CPU share, the upstream attempts
       from the emulator's records, and judge the group's validity.
    3. Stop everything (also on errors and Ctrl-C) and write the result file through
       `result_format.dump`, which validates it against results-v1.schema.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import random
import ssl
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import result_format
from loadtests._bench._drive import Job, Outcome, Target, closed_loop, open_loop
from loadtests._bench._emulator import EmulatorLink, Upstream, emulator_config
from loadtests._bench._errors import BenchError
from loadtests._bench._http import HttpClient
from loadtests._bench._network import DelayedNetwork, delayed_network, netem_unavailable
from loadtests._bench._plan import Arm, Plan, WorkloadShare
from loadtests._bench._processes import (
    Server,
    cpu_seconds,
    process_tree,
    rss_bytes,
    start_emulator,
    start_proxy,
)
from loadtests._bench._progress import Progress
from loadtests._bench._schedule import arrivals, block_order, interleaved_arms, workload_picks
from loadtests._bench._validity import rates, reasons
from loadtests._common import (
    Workload,
    direct_twin,
    percentile,
    request_body,
    request_headers,
    request_path,
    result_sample,
    workload,
)
from loadtests._common import _environment as environment

__all__ = ["execute"]

PROXY_KEY = "bench-proxy-key"
ADMIN_KEY = "bench-admin-key"
THIS_TREE = Path(__file__).resolve().parents[2]
_READY_BODY = request_body(workload("small_chat_json"))
_URL_READY_S = 5.0


@dataclass
class _ArmRun:
    """An arm during the run: where its requests go and which process serves them."""

    arm: Arm
    headers: dict[str, str]
    target: Target | None = None
    server: Server | None = None
    tree: str | None = None


@dataclass
class _Measured:
    """A group's raw results before they become blocks."""

    outcomes: list[Outcome]
    started: float
    ended: float
    client_cpu_share: float
    proxy_cpu: dict[str, float | None]
    proxy_rss: dict[str, int | None]
    upstream: Upstream | None


class _Run:
    def __init__(self, plan: Plan, workdir: Path, progress: Progress) -> None:
        self.plan = plan
        self.workdir = workdir
        self.progress = progress
        self.origin = time.perf_counter()
        self.emulator: Server | None = None
        self.link: EmulatorLink | None = None
        self.delayed: DelayedNetwork | None = None
        self.shared_proxy: Server | None = None
        self.arms = [
            _ArmRun(arm, _flag_headers(arm.flags) if arm.kind == "flag" else {})
            for arm in plan.arms
        ]
        self.blocks: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.trees: dict[str, dict[str, Any]] = {}
        self._group = 0

    # --- servers ---------------------------------------------------------------------------

    async def start(self, stack: contextlib.AsyncExitStack) -> None:
        plan = self.plan
        if plan.needs_emulator:
            self.emulator = await self._start_emulator(stack)
        kinds = {arm.kind for arm in plan.arms}
        if kinds & {"flag", "process"}:  # an arm runs a proxy of ours
            self.trees["this"] = environment.tree(THIS_TREE)
        for run in self.arms:
            arm = run.arm
            if arm.kind == "url":
                assert arm.url is not None
                run.target = Target(arm.name, HttpClient(arm.url), {})
                await self._check_url(run)
            elif arm.kind == "upstream":
                assert self.emulator is not None
                context = None
                if self.emulator.ca_path is not None:
                    context = ssl.create_default_context(cafile=str(self.emulator.ca_path))
                run.target = Target(
                    arm.name, HttpClient(self.emulator.url, ssl_context=context), {}
                )
            else:
                run.tree = self._tree_of(arm)
        if "flag" in kinds:
            self.shared_proxy = await self._start_proxy(THIS_TREE, "flags", {}, {})
            stack.push_async_callback(self.shared_proxy.stop)
            for run in self.arms:
                if run.arm.kind == "flag":
                    self._serve(run, self.shared_proxy)
        elif plan.proxy.restart == "never":
            for run in self.arms:
                if run.arm.kind == "process":
                    server = await self._start_process_arm(run)
                    stack.push_async_callback(server.stop)

    async def _start_emulator(self, stack: contextlib.AsyncExitStack) -> Server:
        plan = self.plan
        prefix: list[str] = []
        host = "127.0.0.1"
        if plan.emulator.network_delay_ms > 0:
            reason = netem_unavailable()
            if reason is None:
                self.delayed = stack.enter_context(delayed_network(plan.emulator.network_delay_ms))
                prefix, host = self.delayed.prefix, self.delayed.emulator_host
            else:
                self.notes.append(
                    f"loopback only: a {plan.emulator.network_delay_ms:g} ms network delay was "
                    f"asked for, but this machine cannot emulate one ({reason})"
                )
        requests = (self.plan.load.requests + self.plan.load.warmup) * len(self.plan.arms)
        config = emulator_config(plan, max_records=min(200_000, requests * 6 + 100))
        key = plan.proxy.api_keys[0]

        async def ready(server: Server) -> str | None:
            if self.link is None:
                self.link = EmulatorLink(server, key)
            return await self.link.ready(server.url)

        self.progress.note("starting the emulator")
        server = await start_emulator(
            self.workdir, config, ready, tls=plan.emulator.tls, server=plan.emulator.server,
            prefix=prefix, host=host,
        )  # fmt: skip
        stack.push_async_callback(server.stop)
        if self.link is not None:
            stack.push_async_callback(self.link.close)
        return server

    def _tree_of(self, arm: Arm) -> str:
        if arm.root is None or arm.root.resolve() == THIS_TREE:
            return "this"
        name = f"root-{arm.name}"
        self.trees[name] = environment.tree(arm.root.resolve())
        return name

    def _proxy_config(self, flags: dict[str, bool]) -> dict[str, Any]:
        assert self.emulator is not None
        upstream: dict[str, Any] = {
            "kind": "gemini",
            "api_keys": self.plan.proxy.api_keys,
            "gemini_base_url": self.emulator.url,
        }
        if self.emulator.ca_path is not None:
            upstream["ca_file"] = str(self.emulator.ca_path)
        config: dict[str, Any] = {
            **self.plan.proxy.config,
            "server": {"proxy_keys": [PROXY_KEY], "admin_key": ADMIN_KEY},
            "upstream": upstream,
            "state": {"path": ":memory:"},
        }
        if flags:
            config["flags"] = dict(flags)
        return config

    async def _start_proxy(
        self, root: Path, name: str, flags: dict[str, bool], env: dict[str, str]
    ) -> Server:
        self.progress.note(
            f"starting the proxy {name!r}" + ("" if root == THIS_TREE else f" from {root}")
        )
        return await start_proxy(
            root, self.workdir, name, self._proxy_config(flags), _proxy_ready,
            env={**self.plan.proxy.env, **env},
        )  # fmt: skip

    async def _start_process_arm(self, run: _ArmRun) -> Server:
        arm = run.arm
        root = (arm.root or THIS_TREE).resolve()
        server = await self._start_proxy(root, arm.name, dict(arm.flags), dict(arm.env))
        self._serve(run, server)
        return server

    def _serve(self, run: _ArmRun, server: Server) -> None:
        run.server = server
        run.target = Target(run.arm.name, HttpClient(server.url), run.headers)

    async def _check_url(self, run: _ArmRun) -> None:
        """A URL arm must answer a real request (any HTTP status: errors are measurements)."""
        assert run.target is not None and run.arm.url is not None
        share = self.plan.load.workloads[0]
        kind = workload(share.workload)
        headers = request_headers(kind, run.arm.api_key or "")
        body = request_body(kind, model=share.model)
        deadline = time.monotonic() + _URL_READY_S
        while True:
            fetched = await run.target.client.fetch(
                kind.path, method="POST", headers=headers, body=body, deadline_s=_URL_READY_S
            )
            if fetched.status is not None:
                return
            if time.monotonic() > deadline or (fetched.error or "").startswith("timeout"):
                raise BenchError(
                    f"arm {run.arm.name!r}: {run.arm.url} does not answer ({fetched.error})"
                )
            await asyncio.sleep(0.2)

    # --- rounds and groups -----------------------------------------------------------------

    def total_requests(self) -> int:
        load = self.plan.load
        return load.rounds * len(self.arms) * (load.requests + load.warmup)

    async def measure(self) -> None:
        load = self.plan.load
        for round_ in range(load.rounds):
            if self.plan.interleaved:
                await self._group_of(round_, self.arms)
            else:
                for run in block_order(self.arms, round_):
                    await self._group_of(round_, [run])

    async def _group_of(self, round_: int, runs: list[_ArmRun]) -> None:
        restart = self.plan.proxy.restart == "block" and runs[0].arm.kind == "process"
        async with contextlib.AsyncExitStack() as stack:
            if restart:
                for run in runs:
                    stack.push_async_callback((await self._start_process_arm(run)).stop)
                    assert run.target is not None
                    stack.push_async_callback(run.target.client.close)
            if self.link is not None:
                await self.link.reset()
            jobs = self._jobs(round_, runs)
            measured = await self._send(jobs, runs)
        blocks = self._blocks(round_, runs, jobs, measured)
        self.blocks.extend(blocks)
        self.progress.note(_block_line(round_, self.plan.load.rounds, blocks))
        self._group += 1

    def _jobs(self, round_: int, runs: list[_ArmRun]) -> list[Job]:
        plan, load = self.plan, self.plan.load
        seed = f"{plan.seed}/{round_}"
        per_arm = load.warmup + load.requests
        shares = load.workloads
        picks = workload_picks(
            [s.weight for s in shares], per_arm, random.Random(f"{seed}/workloads")
        )
        order = interleaved_arms(range(len(runs)), per_arm, random.Random(f"{seed}/order"))
        times = [0.0] * len(order)
        if load.mode == "open":
            assert load.rate is not None
            times = arrivals(
                len(order), load.rate, load.schedule, random.Random(f"{seed}/arrivals")
            )
        jobs = []
        for position, arm_index in enumerate(order):
            run = runs[arm_index]
            assert run.target is not None
            pair = position // len(runs)
            share = shares[picks[pair]]
            kind, model, key = self._request_kind(run, share)
            tag = f"g{self._group}a{arm_index}n{pair}" if load.attempts else None
            jobs.append(
                Job(
                    target=run.target,
                    workload=kind,
                    path=request_path(kind, model),
                    body=request_body(kind, model=model, scenario=share.scenario, tag=tag),
                    headers={**request_headers(kind, key), **run.target.headers},
                    intended=times[position],
                    warmup=pair < load.warmup,
                    tag=tag,
                )
            )
        return jobs

    def _request_kind(self, run: _ArmRun, share: WorkloadShare) -> tuple[Workload, str | None, str]:
        """The workload, model and key of one request of `run`: the upstream arm asks the
        emulator directly, in Gemini's protocol, what the other arms ask through a proxy."""
        kind = workload(share.workload)
        if run.arm.kind == "upstream":
            twin = direct_twin(kind)
            assert twin is not None  # checked when the plan was read
            model = share.model if share.model and share.model.startswith("gemini-") else None
            return twin, model, self.plan.proxy.api_keys[0]
        key = (run.arm.api_key or "") if run.arm.kind == "url" else PROXY_KEY
        return kind, share.model, key

    async def _send(self, jobs: list[Job], runs: list[_ArmRun]) -> _Measured:
        load = self.plan.load
        pids = {
            run.arm.name: process_tree(run.server.pid) for run in runs if run.server is not None
        }
        cpu_before = {name: cpu_seconds(p) for name, p in pids.items()}
        client_before, started = time.process_time(), time.perf_counter()

        def done(_: Outcome) -> None:
            self.progress.advance()

        if load.mode == "open":
            outcomes = await open_loop(
                jobs, timeout_s=load.timeout_s, max_in_flight=load.max_in_flight, on_done=done
            )
        else:
            assert load.concurrency is not None
            outcomes = await closed_loop(
                jobs, concurrency=load.concurrency, timeout_s=load.timeout_s, on_done=done
            )
        ended = time.perf_counter()
        share = (time.process_time() - client_before) / max(ended - started, 1e-9)
        cpu: dict[str, float | None] = {run.arm.name: None for run in runs}
        rss: dict[str, int | None] = {run.arm.name: None for run in runs}
        for name in _own_process(runs):
            cpu[name] = cpu_seconds(pids[name]) - cpu_before[name]
            rss[name] = rss_bytes(pids[name])
        upstream = await self.link.attempts() if self.link is not None else None
        return _Measured(outcomes, started, ended, share, cpu, rss, upstream)

    def _blocks(
        self, round_: int, runs: list[_ArmRun], jobs: list[Job], measured: _Measured
    ) -> list[dict[str, Any]]:
        load = self.plan.load
        upstream = measured.upstream
        if upstream is not None and not upstream.complete:
            self.notes.append(
                f"group {self._group}: the emulator dropped records; attempts unknown"
            )
            upstream = None
        blocks = []
        for run in runs:
            mine = [o for o in measured.outcomes if o.job.target.arm == run.arm.name]
            kept = [o for o in mine if not o.job.warmup]
            intended_rate, achieved_rate = rates(
                [measured.started + o.job.intended for o in mine], [o.sent for o in mine]
            )
            if load.mode == "closed":
                intended_rate = None
                achieved_rate = len(mine) / max(measured.ended - measured.started, 1e-9)
            lags = [o.lag * 1000 for o in kept]
            lag_p99 = percentile(lags, 99) if load.mode == "open" else None
            found = reasons(
                self.plan.limits,
                client_cpu_share=measured.client_cpu_share,
                intended_rate=intended_rate,
                achieved_rate=achieved_rate,
                send_lag_p99_ms=lag_p99,
                samples=len(kept),
            )
            samples = [self._sample(o, upstream) for o in kept]
            names = {o.job.workload.name for o in kept} or {load.workloads[0].workload}
            upstream_calls: int | None = None
            if upstream is not None and len(runs) == 1:
                upstream_calls = upstream.calls
            elif upstream is not None and load.attempts:
                upstream_calls = sum(s["attempts"] or 0 for s in samples)
            blocks.append({
                "arm": run.arm.name,
                "round": round_,
                "group": self._group,
                "workload": names.pop() if len(names) == 1 else "mixed",
                "mode": load.mode,
                "schedule": load.schedule if load.mode == "open" else None,
                "intended_rate": _round(intended_rate),
                "achieved_rate": _round(achieved_rate),
                "concurrency": load.concurrency if load.mode == "closed" else None,
                "started_s": round(measured.started - self.origin, 6),
                "ended_s": round(measured.ended - self.origin, 6),
                "warmup_requests": len(mine) - len(kept),
                "resources": {
                    "proxy_cpu_s": _round(measured.proxy_cpu[run.arm.name]),
                    "proxy_rss_bytes": measured.proxy_rss[run.arm.name],
                    "client_cpu_share": round(measured.client_cpu_share, 4),
                    "upstream_requests": upstream_calls,
                },
                "validity": {
                    "status": "inconclusive" if found else "valid",
                    "reasons": found,
                    "send_lag_p99_ms": _round(lag_p99),
                },
                "samples": samples,
            })  # fmt: skip
        return blocks

    def _sample(self, outcome: Outcome, upstream: Upstream | None) -> dict[str, Any]:
        attempts = None
        if upstream is not None and outcome.job.tag is not None:
            attempts = upstream.by_tag.get(outcome.job.tag, 0)
        return result_sample(
            outcome.measured,
            start_s=outcome.sent - self.origin,
            lag_s=outcome.lag,
            workload=outcome.job.workload.name,
            stream=outcome.job.workload.stream,
            attempts=attempts,
        )

    # --- the result file -------------------------------------------------------------------

    def network_table(self) -> dict[str, Any]:
        if self.delayed is not None:
            return {"mode": "netem", "delay_ms": self.plan.emulator.network_delay_ms,
                    "note": f"the emulator ran in namespace {self.delayed.namespace}, "
                            f"{self.plan.emulator.network_delay_ms:g} ms each way"}  # fmt: skip
        hosts = {urlsplit(run.arm.url).hostname for run in self.arms if run.arm.url}
        if hosts - {"127.0.0.1", "localhost", "::1"}:
            return {"mode": "remote", "note": "URL arms on other hosts"}
        return {"mode": "loopback", "note": "every server on 127.0.0.1: no network delay"}

    def arms_table(self) -> list[dict[str, Any]]:
        table = []
        for run in self.arms:
            arm = run.arm
            entry: dict[str, Any] = {"name": arm.name, "role": arm.role, "kind": arm.kind}
            if arm.kind == "upstream" and self.emulator is not None:  # the schema's url kind
                entry.update(kind="url", url=self.emulator.url)
                entry["description"] = "the emulator itself, Gemini API: the overhead baseline"
            if arm.flags:
                entry["flags"] = dict(arm.flags)
            if arm.url:
                entry["url"] = arm.url
            if run.tree:
                entry["tree"] = run.tree
            if arm.description:
                entry["description"] = arm.description
            table.append(entry)
        return table


async def execute(
    plan: Plan, out_dir: Path, *, progress: Progress, command: Sequence[str] = ()
) -> Path:
    """Run `plan`, write `out_dir/results.json`, return its path."""
    load_before = environment.load_average()
    with tempfile.TemporaryDirectory(prefix="compatkit-bench-") as workdir:
        run = _Run(plan, Path(workdir), progress)
        progress.start(run.total_requests(), f"bench {plan.name}")
        try:
            async with contextlib.AsyncExitStack() as stack:
                await run.start(stack)
                await run.measure()
                for arm_run in run.arms:
                    if arm_run.target is not None:
                        await arm_run.target.client.close()
        finally:
            progress.stop()
    doc = {
        "format": "compatkit-results",
        "version": result_format.SCHEMA_VERSION,
        "tool": {"name": "compatkit bench", "version": _version(), "command": list(command)},
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "plan": plan.as_table(),
        "environment": {
            "machine": environment.machine(),
            "load_average": {"before": load_before, "after": environment.load_average()},
            "python": environment.python(),
            "packages": environment.packages(),
            "trees": run.trees,
            "network": run.network_table(),
        },
        "arms": run.arms_table(),
        "blocks": run.blocks,
        "notes": run.notes,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    result_format.dump(doc, path)
    return path


async def _proxy_ready(server: Server) -> str | None:
    """A real request through the proxy to the emulator: None once it is a 200."""
    client = HttpClient(server.url)
    try:
        headers = request_headers(workload("small_chat_json"), PROXY_KEY)
        fetched = await client.fetch(
            "/v1/messages", method="POST", headers=headers, body=_READY_BODY, deadline_s=10.0
        )
    finally:
        await client.close()
    if fetched.error is not None:
        return fetched.error
    if fetched.status != 200:
        return f"HTTP {fetched.status}: {fetched.body[:200].decode('utf-8', 'replace')}"
    return None


def _own_process(runs: Sequence[_ArmRun]) -> set[str]:
    """The arms of a group whose proxy serves no other arm of it: their proxy's CPU and RSS
    are theirs (flag arms interleaved in one process share it; process arms, each with its
    own proxy, never do, so a duet of process arms keeps CPU per request per arm)."""
    pids = [run.server.pid for run in runs if run.server is not None]
    return {
        run.arm.name for run in runs if run.server is not None and pids.count(run.server.pid) == 1
    }


def _flag_headers(flags: dict[str, bool] | Any) -> dict[str, str]:
    if not flags:
        return {}
    value = ",".join(f"{name}={'on' if on else 'off'}" for name, on in flags.items())
    return {"x-compatkit-flags": value, "x-compatkit-admin-key": ADMIN_KEY}


def _block_line(round_: int, rounds: int, blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        samples = block["samples"]
        errors = sum(1 for s in samples if s["error"] is not None)
        ttft = percentile([s["ttft_ms"] for s in samples if s.get("ttft_ms") is not None], 50)
        e2e = percentile([s["e2e_ms"] for s in samples if s.get("e2e_ms") is not None], 50)
        text = f"{block['arm']}: {len(samples)} requests, {errors} errors"
        if ttft is not None:
            text += f", TTFT p50 {ttft:.2f} ms"
        if e2e is not None:
            text += f", E2E p50 {e2e:.2f} ms"
        if block["validity"]["status"] != "valid":
            text += " INCONCLUSIVE (" + "; ".join(block["validity"]["reasons"]) + ")"
        parts.append(text)
    return f"round {round_ + 1}/{rounds} " + " | ".join(parts)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _version() -> str:
    try:
        return metadata.version("compatkit")
    except metadata.PackageNotFoundError:
        return "0"
