"""report.html: one self-contained page a release owner reads (no script, no network).

Sections, in reading order: the verdict; per comparison its checks (each with its interval
drawn against its tolerance), then per condition the CDFs of each arm for each metric, the
per-round ratios with their intervals, latency and sends per second over time; the
environment of every source; the validity notes. Objectives (assert-latency) get a table.
Every chart is inline SVG (reports.render.svg); the page loads nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np

from reports.measurements import ConditionData, RoundData
from reports.render.svg import (
    BASELINE_COLOUR,
    CANDIDATE_COLOUR,
    VERDICT_COLOURS,
    IntervalRow,
    Mark,
    Series,
    interval_bar,
    interval_chart,
    line_chart,
)
from reports.render.wording import allowed, change, measured
from reports.report import Report, format_value, unit_of
from reports.rollout_guard import Check, Judgement
from reports.vocabulary import LATENCY_METRICS, describe

_CDF_LEVELS = np.linspace(0, 0.999, 240)
_MAX_DOTS = 1500

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1400px;
padding:16px 24px;color:#1a202c}
h1{font-size:22px;margin:4px 0 12px}h2{font-size:18px;margin:28px 0 8px;border-top:1px solid #cbd5e0;
padding-top:14px}h3{font-size:15px;margin:18px 0 6px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:bold}
.banner{padding:12px 16px;border-radius:6px;color:#fff;font-size:18px;margin-bottom:12px}
table{border-collapse:collapse;margin:6px 0 12px}td,th{border:1px solid #e2e8f0;padding:3px 7px;
text-align:left;vertical-align:middle}th{background:#f7fafc}td.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}
.charts{display:flex;flex-wrap:wrap;gap:10px}.chart{border:1px solid #edf2f7;background:#fff}
.muted{color:#4a5568}code{background:#f7fafc;padding:0 3px}
"""


def report_html(report: Report) -> str:
    colour = VERDICT_COLOURS[report.verdict.value]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)}: {escape(report.headline)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
        f'<div class="banner" id="verdict" style="background:{colour}">{escape(report.headline)}'
        f' <span style="font-size:14px;font-weight:normal">(exit code {report.exit_code})</span></div>',
        f'<p class="muted">Created {escape(report.created)}'
        + (f" by <code>{escape(' '.join(report.command))}</code>" if report.command else "")
        + "</p>",
    ]
    if len(report.judgements) > 1:
        parts.append(_overview(report.judgements))
    for index, judgement in enumerate(report.judgements):
        parts.append(_judgement(judgement, index))
    if report.outcomes:
        parts.append(_objectives(report))
    if report.notes:
        parts.append("<h2>Notes</h2>" + _list(report.notes))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _overview(judgements: Sequence[Judgement]) -> str:
    rows = "".join(
        f'<tr><td><a href="#comparison-{i}">{escape(j.name)}</a></td><td>{_badge(j.verdict.value)}'
        f'</td><td>{escape(j.decision.reason)}</td><td class="num">{j.rounds}</td></tr>'
        for i, j in enumerate(judgements)
    )
    return (
        "<h2>Comparisons</h2><table><tr><th>comparison</th><th>verdict</th><th>why</th>"
        f"<th>rounds</th></tr>{rows}</table>"
    )


def _judgement(judgement: Judgement, index: int) -> str:
    policy = judgement.policy
    parts = [
        f'<section id="comparison-{index}">',
        f"<h2>{escape(judgement.name)} {_badge(judgement.verdict.value)}</h2>",
        f"<p>{escape(judgement.decision.reason)}. Baseline <code>{escape(judgement.baseline)}"
        f"</code> against candidate <code>{escape(judgement.candidate)}</code>; "
        f"{judgement.rounds} paired valid round(s); {policy.confidence:.0%} intervals from "
        f"{policy.resamples} resamples (seed {policy.seed}); expected win: "
        f"{escape(', '.join(policy.improve) or 'none')}.</p>",
        '<p class="muted">Each interval is drawn as the change in percent (points for '
        "rates): the grey line is no change, the red dashed line the tolerance.</p>",
        _checks_table(judgement.checks),
    ]
    for condition in judgement.measured.conditions:
        parts.append(_condition(condition, judgement))
    parts.append("<h3>Environment</h3>")
    parts += [_environment(source.name, source.document) for source in judgement.sources]
    parts.append("<h3>Validity notes</h3>")
    parts.append(
        _list(judgement.notes) if judgement.notes else "<p>None: every block was valid.</p>"
    )
    parts.append("</section>")
    return "\n".join(parts)


def _checks_table(checks: Sequence[Check]) -> str:
    if not checks:
        return "<p>No check had data in both arms.</p>"
    header = (
        '<table class="checks"><tr><th>check</th><th>baseline</th>'
        "<th>candidate</th><th>change [interval]</th><th>interval against tolerance</th>"
        "<th>allowed</th><th>verdict</th><th>why</th></tr>"
    )
    rows = []
    condition = None
    for check in checks:
        if check.condition != condition:
            condition = check.condition
            rows.append(f'<tr><th colspan="8">{escape(condition)}</th></tr>')
        rows.append(
            f'<tr class="check" data-check="{escape(check.id)}" data-verdict="{check.verdict.value}">'
            f"<td>{escape(check.label)}</td>"
            f'<td class="num">{escape(measured(check, "baseline"))}</td>'
            f'<td class="num">{escape(measured(check, "candidate"))}</td>'
            f'<td class="num">{escape(change(check))}</td><td>{_check_bar(check)}</td>'
            f"<td>{escape(allowed(check))}</td><td>{_badge(check.verdict.value)}</td>"
            f"<td>{escape(check.decision.reason)}</td></tr>"
        )
    return header + "".join(rows) + "</table>"


def _check_bar(check: Check) -> str:
    """The interval in percent (or points) with 'no change' and the tolerance marked."""
    interval = check.interval
    colour = VERDICT_COLOURS[check.verdict.value]
    if check.unit == "%":
        values = [interval.difference, interval.difference_low, interval.difference_high]
        point, low, high = (v * 100 for v in values)
        # more errors is worse; a win on success must go up, a win on errors down
        sign = -1 if check.kind == "win" and check.metric == "error_rate" else 1
        limit = sign * check.tolerance * 100
    else:
        point, low, high = ((v - 1) * 100 for v in (interval.ratio, interval.low, interval.high))
        limit = {
            "regression": check.tolerance * 100,
            "win": -check.tolerance * 100,
            "throughput": -check.tolerance * 100,
            "errors": check.tolerance * 100,
        }[check.kind]
    marks = [Mark(0, "no change", dashed=False)]
    if limit != 0:
        marks.append(Mark(limit, "tolerance", "#c53030"))
    return interval_bar(point, low, high, marks, colour)


def _condition(condition: ConditionData, judgement: Judgement) -> str:
    metrics = [
        m
        for m in LATENCY_METRICS
        if any(c.metric == m for c in judgement.checks if c.condition == condition.name)
    ]
    parts = [f"<h3>{escape(condition.name)}</h3>", '<div class="charts">']
    for metric in metrics:
        parts.append(_cdf(condition, metric, judgement))
    parts.append('</div><div class="charts">')
    for metric in metrics:
        parts.append(_per_round(condition, metric, judgement))
    parts.append('</div><div class="charts">')
    parts.append(_over_time(condition, judgement, metrics))
    parts.append(_rate_over_time(condition, judgement))
    parts.append("</div>")
    return "\n".join(parts)


def _cdf(condition: ConditionData, metric: str, judgement: Judgement) -> str:
    series = []
    for name, rounds, colour in _arms(condition, judgement):
        values = np.concatenate([r.clustered(metric).values for r in rounds])
        if values.size:
            xs = np.quantile(values, _CDF_LEVELS, method="inverted_cdf")
            series.append(
                Series(
                    f"{name} (n={values.size})",
                    colour,
                    xs.tolist(),
                    _CDF_LEVELS.tolist(),
                    step=True,
                )
            )
    return line_chart(
        series,
        title=f"{metric.upper()}: distribution per arm",
        x_label=f"{describe(metric)} (ms), up to p99.9",
        y_label="share of values at or below",
        y_range=(0.0, 1.0),
    )


def _per_round(condition: ConditionData, metric: str, judgement: Judgement) -> str:
    rows = []
    tolerances: dict[float, list[str]] = {}
    for check in judgement.checks:
        if check.condition != condition.name or check.metric != metric:
            continue
        colour = VERDICT_COLOURS[check.verdict.value]
        for label, interval in check.per_round:
            rows.append(
                IntervalRow(
                    f"{check.stat} {label}",
                    *_percent(interval.ratio, interval.low, interval.high),
                    colour="#718096",
                )
            )
        rows.append(
            IntervalRow(
                f"{check.stat} all rounds",
                *_percent(check.interval.ratio, check.interval.low, check.interval.high),
                colour=colour,
                bold=True,
            )
        )
        if check.kind == "regression":
            tolerances.setdefault(check.tolerance * 100, []).append(check.stat)
    marks = [Mark(0, "no change", dashed=False)]
    marks += [
        Mark(limit, f"{'/'.join(stats)} tolerance", "#c53030")
        for limit, stats in tolerances.items()
    ]
    return interval_chart(
        rows,
        title=f"{metric.upper()}: candidate/baseline per round",
        x_label="change of the quantile (%)",
        marks=marks,
    )


def _over_time(condition: ConditionData, judgement: Judgement, metrics: Sequence[str]) -> str:
    metric = next((m for m in ("ttft", "e2e", "ttfb") if m in metrics), None)
    if metric is None:
        return ""
    series = []
    for name, rounds, colour in _arms(condition, judgement):
        starts = np.concatenate([r.start_s for r in rounds])
        values = np.concatenate([r.latency[metric] for r in rounds])
        keep = ~np.isnan(values)
        starts, values = _thin(starts[keep], values[keep])
        series.append(Series(name, colour, starts.tolist(), values.tolist(), dots=True))
    return line_chart(
        series,
        title=f"{metric.upper()} of each request over time",
        x_label="send time (s since the run began)",
        y_label=f"{metric} (ms)",
    )


def _rate_over_time(condition: ConditionData, judgement: Judgement) -> str:
    series = []
    starts_all = np.concatenate(
        [r.start_s for side in (condition.baseline, condition.candidate) for r in side]
    )
    if starts_all.size == 0:
        return ""
    edges = np.arange(np.floor(starts_all.min()), np.ceil(starts_all.max()) + 2.0)
    for name, rounds, colour in _arms(condition, judgement):
        counts, _ = np.histogram(np.concatenate([r.start_s for r in rounds]), bins=edges)
        series.append(
            Series(name, colour, edges[:-1].tolist(), counts.astype(float).tolist(), step=True)
        )
    return line_chart(
        series,
        title="Requests sent per second (achieved rate)",
        x_label="time (s since the run began)",
        y_label="requests sent in the second",
    )


def _arms(condition: ConditionData, judgement: Judgement) -> list[tuple[str, list[RoundData], str]]:
    return [
        (judgement.baseline, condition.baseline, BASELINE_COLOUR),
        (judgement.candidate, condition.candidate, CANDIDATE_COLOUR),
    ]


def _percent(ratio: float, low: float, high: float) -> tuple[float, float, float]:
    return (ratio - 1) * 100, (low - 1) * 100, (high - 1) * 100


def _thin(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if xs.size <= _MAX_DOTS:
        return xs, ys
    keep = np.linspace(0, xs.size - 1, _MAX_DOTS).astype(np.int64)
    return xs[keep], ys[keep]


def _environment(name: str, document: dict[str, Any]) -> str:
    environment = document["environment"]
    machine = environment["machine"]
    load = environment["load_average"]
    plan = document["plan"]
    rows = [
        ("file", name),
        (
            "written by",
            f"{document['tool']['name']} {document['tool']['version']} at {document['created']}",
        ),
        ("plan", ", ".join(f"{k} {v}" for k, v in plan.items() if not isinstance(v, dict | list))),
        ("machine", ", ".join(f"{k} {v}" for k, v in machine.items())),
        ("load average", f"before {load['before']}, after {load['after']}"),
        ("python", environment["python"]),
        (
            "packages",
            ", ".join(f"{k} {v}" for k, v in environment["packages"].items()) or "not recorded",
        ),
        ("network", ", ".join(f"{k} {v}" for k, v in environment["network"].items())),
    ]
    for tree, about in environment["trees"].items():
        rows.append((f"tree {tree}", ", ".join(f"{k} {v}" for k, v in about.items())))
    for arm in document["arms"]:
        details = {k: v for k, v in arm.items() if k != "name"}
        rows.append((f"arm {arm['name']}", json.dumps(details, sort_keys=True)))
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f'<table class="environment">{cells}</table>'


def _objectives(report: Report) -> str:
    rows = "".join(
        f'<tr class="objective" data-met="{str(o.met).lower()}"><td><code>{escape(o.objective.text)}'
        f"</code></td><td>{escape(o.condition)}</td>"
        f'<td class="num">{escape(format_value(o.value, unit_of(o.objective.metric)))}</td>'
        f'<td class="num">{o.samples}</td>'
        f"<td>{_badge('PROMOTE' if o.met else 'ROLLBACK', 'met' if o.met else 'MISSED')}</td>"
        f"<td>{escape(o.note)}</td></tr>"
        for o in report.outcomes
    )
    return (
        "<h2>Objectives</h2><table><tr><th>objective</th><th>condition</th><th>measured</th>"
        f"<th>samples</th><th>result</th><th>note</th></tr>{rows}</table>"
    )


def _badge(verdict: str, text: str | None = None) -> str:
    return (
        f'<span class="verdict" style="background:{VERDICT_COLOURS[verdict]}">'
        f"{escape(text or verdict)}</span>"
    )


def _list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"
