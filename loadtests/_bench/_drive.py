"""Sending one block's requests: open loop on a schedule, or closed loop with N in flight.

Operations
    Target(name, client, path_headers...)    where an arm's requests go and what they carry
    Job(target, workload, path, body, headers, intended, warmup, tag)
    await open_loop(jobs, *, timeout_s, max_in_flight, on_done) -> [Outcome]
                        each job leaves at its intended time (seconds from the start), whatever
                        the answers to the others do; lag = actual - intended send
    await closed_loop(jobs, *, concurrency, timeout_s, on_done) -> [Outcome]
                        `concurrency` workers, each sends its next job when its last one ended
    Outcome(job, sent, lag, measured)        `sent` on the perf_counter clock

Open loop is the default because a closed loop coordinates with the server it measures (wrk2's
"coordinated omission"): a slow reply delays the next send and hides the slowness. Here a
send never waits for a reply; if the in-flight cap is reached (a stalled proxy), sends wait
for a slot and that wait is counted in `lag`, where the run's validity check sees it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loadtests._bench._http import HttpClient
from loadtests._common import Measured, ResponseMeter, Workload

__all__ = ["Job", "Outcome", "Target", "closed_loop", "open_loop"]


@dataclass(frozen=True)
class Target:
    """An arm as the client sees it: a connection pool and the headers every request carries."""

    arm: str
    client: HttpClient
    headers: dict[str, str]


@dataclass(frozen=True)
class Job:
    target: Target
    workload: Workload
    path: str
    body: bytes
    headers: dict[str, str]
    intended: float = 0.0  # seconds from the block's start (open loop)
    warmup: bool = False
    tag: str | None = None


@dataclass(frozen=True)
class Outcome:
    job: Job
    sent: float
    lag: float
    measured: Measured


async def _one(job: Job, intended: float | None, timeout_s: float) -> Outcome:
    sent = time.perf_counter()
    meter = ResponseMeter(job.workload.protocol, sent=sent, stream=job.workload.stream)
    await job.target.client.send(job.path, job.headers, job.body, meter, timeout_s)
    lag = 0.0 if intended is None else max(0.0, sent - intended)
    return Outcome(job, sent, lag, meter.result())


async def open_loop(
    jobs: Sequence[Job],
    *,
    timeout_s: float,
    max_in_flight: int,
    on_done: Callable[[Outcome], None],
) -> list[Outcome]:
    """Send every job at its intended time; return the outcomes in job order."""
    slots = asyncio.Semaphore(max_in_flight)
    start = time.perf_counter()

    async def run(job: Job, intended: float) -> Outcome:
        try:
            outcome = await _one(job, intended, timeout_s)
        finally:
            slots.release()
        on_done(outcome)
        return outcome

    tasks: list[asyncio.Task[Outcome]] = []
    try:
        for job in jobs:
            intended = start + job.intended
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            tasks.append(asyncio.create_task(run(job, intended)))
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()


async def closed_loop(
    jobs: Sequence[Job],
    *,
    concurrency: int,
    timeout_s: float,
    on_done: Callable[[Outcome], None],
) -> list[Outcome]:
    """`concurrency` workers take the jobs in order, one at a time each."""
    outcomes: list[Outcome | None] = [None] * len(jobs)
    queue = iter(enumerate(jobs))

    async def worker() -> None:
        for index, job in queue:
            outcome = await _one(job, None, timeout_s)
            outcomes[index] = outcome
            on_done(outcome)

    workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(jobs)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    return [outcome for outcome in outcomes if outcome is not None]
