"""One Locust run's raw samples, gathered from every worker, and the result file they make.

Operations
    RunLog(settings)                        what a run keeps: one sample per request (the
                                            result file's sample object), the peak user count,
                                            the load average at its start; `settings` is
                                            replaced when a run starts (a worker gets the
                                            master's options only then)
    log.record(measured, start_wall=, workload=, stream=)   a finished request
    log.restart()                           a new run: no samples, no peak yet
    log.take() -> list                      the samples not yet shipped (a worker's report)
    log.extend(samples)                     samples a worker shipped (the master)
    log.document(*, host, cpu_warning, command) -> dict
                                            the result file (results-v1): one arm of kind
                                            `locust`, one block per workload, round 0, closed
                                            loop at the peak user count

Goals
    Locust's percentiles are bucketed (docs/reference/benchmarking.md#locust): the raw floats
    are what the gate judges, so every request's sample is kept, with the bench runner's own
    sample builder (loadtests._common.result_sample), and shipped from workers to the master
    with Locust's `report_to_master` / `worker_report` events. Samples hold absolute wall
    times until the end, when they are rebased on the earliest one (the run's origin).

Plan
    Locust is closed-loop: lag is 0 and a block is `closed` at the run's peak user count,
    which is how the gate names its condition (`small_chat, closed, 32 in flight`). A run
    during which Locust warned that its CPU passed 90 % is marked inconclusive: its
    latencies include the load generator's own queueing.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from loadtests._common import Measured, result_sample
from loadtests._common import _environment as machine_info
from loadtests._locust._options import Settings

__all__ = ["RunLog"]

_TREE = Path(__file__).resolve().parents[2]


class RunLog:
    """The samples of one run (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.samples: list[dict[str, Any]] = []
        self.peak_users = 0
        self.load_before = machine_info.load_average()

    @property
    def keep(self) -> bool:
        """Samples are kept only for a result file or objectives (a soak keeps no memory)."""
        return self.settings.results is not None or bool(self.settings.slo)

    def record(self, measured: Measured, *, start_wall: float, workload: str, stream: bool) -> None:
        if self.keep:
            self.samples.append(
                result_sample(
                    measured, start_s=start_wall, lag_s=0.0, workload=workload, stream=stream
                )
            )

    def restart(self) -> None:
        """Forget the samples and the peak of an earlier run (the web UI's next start)."""
        self.samples, self.peak_users = [], 0
        self.load_before = machine_info.load_average()

    def take(self) -> list[dict[str, Any]]:
        taken, self.samples = self.samples, []
        return taken

    def extend(self, samples: list[dict[str, Any]]) -> None:
        self.samples.extend(samples)

    def saw_users(self, count: int) -> None:
        self.peak_users = max(self.peak_users, count)

    def document(
        self, *, host: str, cpu_warning: bool, command: list[str] | None = None
    ) -> dict[str, Any]:
        """The result file of the run so far."""
        samples = sorted(self.samples, key=lambda sample: sample["start_s"])
        origin = samples[0]["start_s"] if samples else 0.0
        by_workload: dict[str, list[dict[str, Any]]] = {}
        for sample in samples:
            rebased = {**sample, "start_s": round(sample["start_s"] - origin, 6)}
            by_workload.setdefault(sample.get("workload", "mixed"), []).append(rebased)
        reasons = ["Locust's CPU passed 90 % during the run"] if cpu_warning else []
        blocks = [self._block(name, block, reasons) for name, block in by_workload.items()]
        arm: dict[str, Any] = {"name": self.settings.arm, "role": self.settings.role,
                               "kind": "locust", "description": "locust -f loadtests"}  # fmt: skip
        arm["url"] = host
        return {
            "format": "compatkit-results",
            "version": 1,
            "tool": {
                "name": "locust -f loadtests",
                "version": metadata.version("locust"),
                "command": list(sys.argv if command is None else command),
            },
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "plan": {"name": "locust", "seed": 0, "track": None, "shape": self.settings.shape},
            "environment": {
                "machine": machine_info.machine(),
                "load_average": {"before": self.load_before, "after": machine_info.load_average()},
                "python": machine_info.python(),
                "packages": machine_info.packages(),
                "trees": {"this": machine_info.tree(_TREE)},
                "network": {"mode": _network_mode(host)},
            },
            "arms": [arm],
            "blocks": blocks,
            "notes": [
                "Locust is closed-loop: latencies are from the actual send (lag 0), so they "
                "do not correct for coordinated omission"
            ],
        }

    def _block(
        self, workload: str, samples: list[dict[str, Any]], reasons: list[str]
    ) -> dict[str, Any]:
        started = samples[0]["start_s"]
        ended = max(s["start_s"] + (s["e2e_ms"] or s["ttfb_ms"] or 0.0) / 1000 for s in samples)
        duration = ended - started
        return {
            "arm": self.settings.arm,
            "round": 0,
            "workload": workload,
            "mode": "closed",
            "schedule": None,
            "intended_rate": None,
            "achieved_rate": round(len(samples) / duration, 3) if duration > 0 else None,
            "concurrency": max(1, self.peak_users),
            "started_s": round(started, 6),
            "ended_s": round(ended, 6),
            "warmup_requests": 0,
            "resources": {
                "proxy_cpu_s": None,
                "proxy_rss_bytes": None,
                "client_cpu_share": None,
                "upstream_requests": None,
            },
            "validity": {"status": "inconclusive" if reasons else "valid", "reasons": reasons},
            "samples": samples,
        }


def _network_mode(host: str) -> str:
    if any(local in host for local in ("://127.", "://localhost", "://[::1]")):
        return "loopback"
    return "remote"
