"""The short summary `compatkit bench` prints: per arm, the headline figures of a result file.

Operations
    summary(doc, path) -> str      a table: requests, errors, TTFB / TTFT / E2E p50 and p99
                                   (ms, successful requests of valid blocks), proxy CPU ms per
                                   request, inconclusive blocks; then the candidate / baseline
                                   ratio of each p50, and the notes

Only a glance: pooled percentiles over valid blocks, no statistics. The verdict with its
confidence intervals is `rollout-guard`'s (reports/), from the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtests._common import percentile

__all__ = ["summary"]

_METRICS = (("ttfb_ms", "TTFB"), ("ttft_ms", "TTFT"), ("e2e_ms", "E2E"))


def _arm_figures(doc: dict[str, Any], arm: str) -> dict[str, Any]:
    blocks = [b for b in doc["blocks"] if b["arm"] == arm]
    valid = [b for b in blocks if b["validity"]["status"] == "valid"]
    figures: dict[str, Any] = {
        "requests": sum(len(b["samples"]) for b in blocks),
        "errors": sum(1 for b in blocks for s in b["samples"] if s["error"] is not None),
        "inconclusive": len(blocks) - len(valid),
        "only_inconclusive": not valid and bool(blocks),
    }
    valid = valid or blocks  # an arm with no valid block: its figures, marked
    samples = [s for b in valid for s in b["samples"]]
    for key, _ in _METRICS:
        values = [s[key] for s in samples if s.get(key) is not None and s["error"] is None]
        figures[key] = (percentile(values, 50), percentile(values, 99))
    cpu = [b["resources"].get("proxy_cpu_s") for b in valid]
    if cpu and all(c is not None for c in cpu):
        count = sum(len(b["samples"]) + b["warmup_requests"] for b in valid)
        figures["cpu_ms"] = 1000 * sum(cpu) / max(count, 1)
    else:
        figures["cpu_ms"] = None
    return figures


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def summary(doc: dict[str, Any], path: Path | str) -> str:
    arms = [arm["name"] for arm in doc["arms"]]
    figures = {arm: _arm_figures(doc, arm) for arm in arms}
    header = f"{'arm':<16}{'requests':>9}{'errors':>8}"
    for _, label in _METRICS:
        header += f"{label + ' p50':>11}{label + ' p99':>11}"
    header += f"{'CPU ms/req':>12}{'inconcl.':>10}"
    lines = [f"{doc['plan']['name']}: {path}", header]
    for arm in arms:
        f = figures[arm]
        label = arm + ("*" if f["only_inconclusive"] else "")
        row = f"{label:<16}{f['requests']:>9}{f['errors']:>8}"
        for key, _ in _METRICS:
            row += f"{_ms(f[key][0]):>11}{_ms(f[key][1]):>11}"
        row += f"{_ms(f['cpu_ms']):>12}{f['inconclusive']:>10}"
        lines.append(row)
    roles = {arm["role"]: arm["name"] for arm in doc["arms"]}
    if "baseline" in roles and "candidate" in roles:
        base, cand = figures[roles["baseline"]], figures[roles["candidate"]]
        ratios = []
        for key, label in _METRICS:
            if base[key][0] and cand[key][0] is not None:
                ratios.append(f"{label} p50 {cand[key][0] / base[key][0]:.3f}")
        if base["cpu_ms"] and cand["cpu_ms"] is not None:
            ratios.append(f"CPU/request {cand['cpu_ms'] / base['cpu_ms']:.3f}")
        if ratios:
            lines.append(f"candidate / baseline: {', '.join(ratios)}  (judge with rollout-guard)")
    if any(f["only_inconclusive"] for f in figures.values()):
        lines.append("* every block of this arm is INCONCLUSIVE: its figures are shown, not valid")
    lines += [f"note: {note}" for note in doc.get("notes", [])]
    return "\n".join(lines)
