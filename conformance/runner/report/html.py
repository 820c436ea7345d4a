"""The HTML report: one self-contained page (inline CSS and a few lines of inline script, no request
to anywhere), a case x run table in which every case opens to its evidence.

    render_html(document) -> str

Each case is a `<details class="case">` whose summary is its table row (id, level, section, one
outcome badge per run); opened, it shows per run the checks (the failed one with its rule, its
message and a diff), then the exchanges: the client request, the answer, the events received and
the upstream requests the emulator saw, with its verdict and the reply it sent. Native
`<details>` elements, so cases open without the script; the script only filters by outcome.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

OUTCOMES = ("pass", "fail", "non-strict", "informational", "skipped")
SHOWN_CHARS = 20_000

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d1f21;background:#fafafa}
header{padding:16px 24px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:20px;margin:0 0 6px}
.verdict{font-weight:600}.verdict.ok{color:#1a7f37}.verdict.bad{color:#cf222e}
.runs{display:flex;gap:12px;flex-wrap:wrap;margin-top:10px}
.run{border:1px solid #ddd;border-radius:6px;padding:8px 12px;background:#fff}
.filters{margin:12px 24px}.filters button{margin-right:6px;padding:3px 10px;border:1px solid #bbb;border-radius:12px;background:#fff;cursor:pointer}
.filters button.on{background:#1d1f21;color:#fff}
main{margin:0 24px 40px}
.row{display:grid;grid-template-columns:minmax(260px,3fr) 70px minmax(160px,1fr) repeat(var(--runs),120px);gap:8px;align-items:center;padding:4px 8px}
.row>span{min-width:0;overflow-wrap:anywhere}
.what{display:block;color:#666;font-size:12px}
.head{font-weight:600;border-bottom:2px solid #ccc;position:sticky;top:0;background:#fafafa}
.category{margin:18px 0 4px;font-size:15px;font-weight:600;color:#555}
details.case{border-bottom:1px solid #e4e4e4;background:#fff}
details.case>summary{list-style:none;cursor:pointer}
details.case>summary::-webkit-details-marker{display:none}
details.case[open]>summary{background:#eef3fb}
.id{font-family:ui-monospace,Menlo,monospace;font-size:13px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;text-align:center}
.pass{background:#dafbe1;color:#1a7f37}.fail{background:#ffebe9;color:#cf222e}
.non-strict{background:#fff8c5;color:#7d4e00}.informational{background:#ddf4ff;color:#0969da}
.skipped{background:#eee;color:#666}.none{color:#bbb}
.body{padding:8px 16px 16px}
.run-block{border-left:3px solid #ccc;margin:10px 0;padding:4px 12px}
table.checks{border-collapse:collapse;margin:6px 0;width:100%}
table.checks td{border-top:1px solid #eee;padding:3px 6px;vertical-align:top}
.ok{color:#1a7f37}.ko{color:#cf222e;font-weight:600}
pre{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:4px;padding:8px;overflow:auto;max-height:420px;font-size:12px;white-space:pre-wrap;word-break:break-all}
pre.diff .add{color:#1a7f37}pre.diff .del{color:#cf222e}
details.part>summary{cursor:pointer;color:#0969da;margin:4px 0}
.rule{color:#666;font-size:12px}
"""

_SCRIPT = """
document.querySelectorAll('.filters button').forEach(function (button) {
  button.addEventListener('click', function () {
    var wanted = button.dataset.outcome;
    document.querySelectorAll('.filters button').forEach(function (b) { b.classList.toggle('on', b === button); });
    document.querySelectorAll('details.case').forEach(function (item) {
      item.hidden = wanted !== 'all' && item.dataset.outcomes.split(' ').indexOf(wanted) < 0;
    });
  });
});
"""


def render_html(document: dict[str, Any]) -> str:
    runs = document["runs"]
    verdict_class = "ok" if document["passed"] else "bad"
    verdict = "every MUST case passed" if document["passed"] else "MUST cases failed"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>compatkit conformance report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<header><h1>compatkit conformance</h1>",
        f"<div class='verdict {verdict_class}'>Verdict: {verdict}.</div>",
        f"<div>Generated {escape(document['generated'])}.</div>",
        "<div class='runs'>",
        *(_run_card(run) for run in runs),
        "</div></header>",
        _filters(),
        f"<main style='--runs:{len(runs)}'>",
        _head_row(runs),
        *_cases(runs),
        *(_fuzz(run) for run in runs if run["fuzz"]["examples"]),
        "</main>",
        f"<script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)


def _run_card(run: dict[str, Any]) -> str:
    summary = run["summary"]
    counts = " · ".join(
        f"<span class='badge {o}'>{summary['outcomes'][o]} {o}</span>" for o in OUTCOMES
    )
    return (
        f"<div class='run'><b>{escape(run['flavor'])}</b> — {escape(run['proxy'])}<br>"
        f"MUST {summary['must_passed']}/{summary['must_total']} passed · "
        f"{summary['cases']} cases in {run['seconds']:.1f} s<br>{counts}</div>"
    )


def _filters() -> str:
    buttons = ["<button class='on' data-outcome='all'>all</button>"]
    buttons += [f"<button data-outcome='{o}'>{o}</button>" for o in OUTCOMES]
    return "<div class='filters'>Show: " + "".join(buttons) + "</div>"


def _head_row(runs: list[dict[str, Any]]) -> str:
    cells = "".join(f"<span>{escape(run['flavor'])}</span>" for run in runs)
    return f"<div class='row head'><span>case</span><span>level</span><span>section</span>{cells}</div>"


def _cases(runs: list[dict[str, Any]]) -> list[str]:
    """One details element per case id, in first-seen order, grouped by category."""
    order: list[str] = []
    entries: dict[str, list[dict[str, Any] | None]] = {}
    for index, run in enumerate(runs):
        for case in run["cases"]:
            if case["id"] not in entries:
                order.append(case["id"])
                entries[case["id"]] = [None] * len(runs)
            entries[case["id"]][index] = case
    html: list[str] = []
    category = None
    for case_id in order:
        per_run = entries[case_id]
        first = next(c for c in per_run if c is not None)
        if first["category"] != category:
            category = first["category"]
            html.append(f"<div class='category'>{escape(category)}</div>")
        html.append(_case(first, per_run, runs))
    return html


def _case(
    first: dict[str, Any], per_run: list[dict[str, Any] | None], runs: list[dict[str, Any]]
) -> str:
    outcomes = " ".join(sorted({c["outcome"] for c in per_run if c is not None}))
    badges = "".join(
        f"<span class='badge {c['outcome']}'>{c['outcome']}</span>"
        if c is not None
        else "<span class='none'>—</span>"
        for c in per_run
    )
    summary = (
        f"<summary class='row'><span><span class='id'>{escape(first['id'])}</span>"
        f"<span class='what'>{escape(first['description'])}</span></span>"
        f"<span>{first['level']}</span><span>{escape(first['section'])}</span>{badges}</summary>"
    )
    blocks = [
        _run_block(run, case) for run, case in zip(runs, per_run, strict=True) if case is not None
    ]
    body = f"<div class='body'>{''.join(blocks)}</div>"
    return (
        f"<details class='case' id='{escape(first['id'])}' data-outcomes='{outcomes}'>"
        f"{summary}{body}</details>"
    )


def _run_block(run: dict[str, Any], case: dict[str, Any]) -> str:
    rows = "".join(_check_row(check) for check in case["checks"])
    note = f"<p>{escape(case['note'])}</p>" if case["note"] else ""
    exchanges = "".join(
        _exchange(exchange, index, len(case["exchanges"]))
        for index, exchange in enumerate(case["exchanges"], start=1)
    )
    return (
        f"<div class='run-block'><b>{escape(run['flavor'])}</b>: "
        f"<span class='badge {case['outcome']}'>{case['outcome']}</span> "
        f"in {case['seconds']:.3f} s{note}"
        f"<table class='checks'>{rows}</table>{exchanges}</div>"
    )


def _check_row(check: dict[str, Any]) -> str:
    mark = "<span class='ok'>✓</span>" if check["passed"] else "<span class='ko'>✗</span>"
    argument = escape(json.dumps(check["argument"], ensure_ascii=False))
    detail = ""
    if not check["passed"]:
        detail = f"<div class='ko'>{escape(check['message'])}</div>"
        if check.get("diff"):
            detail += "<pre class='diff'>" + _diff_html(check["diff"]) + "</pre>"
    return (
        f"<tr><td>{mark}</td><td>{check['level']}</td><td><code>{escape(check['name'])}"
        f" = {argument}</code><div class='rule'>{escape(check['rule'])}</div>{detail}</td></tr>"
    )


def _diff_html(diff: str) -> str:
    lines = []
    for line in diff.splitlines():
        kind = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        lines.append(f"<span class='{kind}'>{escape(line)}</span>" if kind else escape(line))
    return "\n".join(lines)


def _exchange(exchange: dict[str, Any], index: int, total: int) -> str:
    label = f" {index} of {total}" if total > 1 else ""
    request, response = exchange["request"], exchange["response"]
    parts = [
        _part(f"client request{label}: {request['method']} {request['path']}", _http(request)),
        _part(
            f"answer: {response['status']} ({response['body_bytes']} bytes, "
            f"{response['seconds']} s)"
            + (f" — {response['failure']}" if response["failure"] else ""),
            _http(response),
        ),
    ]
    if exchange["events"]:
        events = "\n".join(
            (f"event: {e['event']}\n" if e["event"] else "") + f"data: {e['data']}"
            for e in exchange["events"]
        )
        more = exchange["events_total"] - len(exchange["events"])
        if more > 0:
            events += f"\n… {more} more events"
        parts.append(_part(f"events received ({exchange['events_total']})", _pre(events)))
    for record in exchange["upstream"]:
        title = (
            f"upstream request #{record['seq']}: {record['method']} {record['path']} → "
            f"{record['status']} ({record['verdict']}, scenario {record['scenario']})"
        )
        parts.append(_part(title, _pre(_json(record))))
    if not exchange["upstream"]:
        parts.append("<div class='rule'>the upstream saw no request during this exchange</div>")
    return "".join(parts)


def _http(message: dict[str, Any]) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in (message.get("headers") or {}).items())
    return _pre(f"{headers}\n\n{message.get('body', '')}")


def _part(title: str, content: str) -> str:
    return f"<details class='part'><summary>{escape(title)}</summary>{content}</details>"


def _pre(text: str) -> str:
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS] + f"\n… ({len(text) - SHOWN_CHARS} more characters)"
    return f"<pre>{escape(text)}</pre>"


def _json(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False, default=str)


def _fuzz(run: dict[str, Any]) -> str:
    fuzz = run["fuzz"]
    items = "".join(
        f"<li><b>{escape(f['strategy'])}</b>: {escape(f['problem'])}"
        f"<br>replay: <code>{escape(f['replay_command'])}</code>"
        f"{_part('request', _pre(_json(f['request'])))}</li>"
        for f in fuzz["failures"]
    )
    return (
        f"<div class='category'>fuzz ({escape(run['flavor'])}): {fuzz['examples']} examples, "
        f"{len(fuzz['failures'])} failing</div><ul>{items}</ul>"
    )
