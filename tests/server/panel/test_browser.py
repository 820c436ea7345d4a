"""The panel in a real browser: Debian's chromium (Playwright) against a `compatkit serve` process
on 127.0.0.1 in front of the emulator. An operator logs in, turns the retry track on and sees the
next rate-limited request cool a credential down (the new arm), clears the cooldown, disables a
credential, watches the live metrics move with real requests (requests/s, TTFT of a stream, errors
by type, upstream 429s and capacity errors from the emulator's scenarios), is refused a forged POST,
and logs out.

`COMPATKIT_PANEL_SCREENSHOT=docs/panel.png` makes the run save the metrics page there (the
screenshot in docs/server.md).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from conformance.emulator.testing import RunningEmulator
from tests.browser import system_chromium
from tests.server.conftest import ADMIN_KEY, PROXY_KEY, UPSTREAM_KEYS, scenario

ROOT = Path(__file__).resolve().parents[3]
WAIT_MS = 20_000
FOCUSED_LABEL = "document.activeElement.getAttribute('aria-label')"
OVERFLOWING_ELEMENTS = """[...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > 400 && !e.closest('.table-wrap'))
    .map(e => e.tagName + '#' + e.id)"""
SERIES_NAMES = "lines => lines.map(line => line.dataset.series)"  # how long a page may take to show what the proxy did (not a speed claim)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with system_chromium() as chromium:
        yield chromium


@pytest.fixture
def served(emulator: RunningEmulator, tmp_path: Path) -> Iterator[str]:
    """`compatkit serve` in front of the emulator with three keys; its URL once it answers."""
    emulator.reset()
    reports = tmp_path / "reports"
    write_gate_report(reports / "20261205T120000Z")
    env = {
        **os.environ,
        "COMPATKIT_PROXY_KEYS": PROXY_KEY,
        "COMPATKIT_ADMIN_KEY": ADMIN_KEY,
        "COMPATKIT_API_KEYS": ",".join(UPSTREAM_KEYS),
        "COMPATKIT_GEMINI_BASE_URL": emulator.base_url,
        "COMPATKIT_STATE_PATH": ":memory:",
        "COMPATKIT_PANEL_REPORTS_DIR": str(reports),
        "COMPATKIT_RETRY_BASE_DELAY": "0.01",
        "COMPATKIT_RETRY_MAX_DELAY": "0.05",
        "COMPATKIT_RETRY_V1_INTERVAL": "0.01",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "compat_cli", "serve", "--port", "0", "--log-level", "info"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield listening_url(process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def listening_url(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("{") and "listening on" in (message := json.loads(line)["message"]):
            # keep draining stderr so the server never blocks on a full pipe
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return str(message).rsplit(" ", 1)[1]
    raise AssertionError(f"compatkit serve exited with {process.wait()} before listening")


def write_gate_report(folder: Path) -> None:
    folder.mkdir(parents=True)
    verdict = {
        "format": "compatkit-verdict",
        "version": 1,
        "title": "rollout-guard",
        "created": "2026-12-05T12:00:00+00:00",
        "verdict": "PROMOTE",
        "comparisons": [
            {
                "name": "off vs on",
                "track": "ff_retry_policy_v2",
                "verdict": "PROMOTE",
                "reason": "TTFT p95 within tolerance",
            }
        ],
        "objectives": [],
    }
    (folder / "verdict.json").write_text(json.dumps(verdict))
    (folder / "report.html").write_text(
        "<!doctype html><title>r</title><h1>Gate report PROMOTE</h1>"
    )


def ask(url: str, text: str = "hi") -> anthropic.types.Message | anthropic.APIStatusError:
    client = anthropic.Anthropic(base_url=url, api_key=PROXY_KEY, max_retries=0)
    try:
        return client.messages.create(
            model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": text}]
        )
    except anthropic.APIStatusError as error:
        return error


def ask_streaming(url: str) -> int:
    """A streamed message through the proxy (so TTFT is measured); the number of text deltas."""
    client = anthropic.Anthropic(base_url=url, api_key=PROXY_KEY, max_retries=0)
    with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        return sum(1 for _ in stream.text_stream)


def admin_get(url: str, path: str) -> Any:
    return httpx.get(url + path, headers={"x-api-key": ADMIN_KEY}, timeout=30).json()


def clear_cooldowns(url: str) -> None:
    """End every credential's cooldowns through the admin API."""
    for credential in admin_get(url, "/admin/credentials")["data"]:
        cleared = httpx.delete(
            f"{url}/admin/credentials/{credential['id']}/cooldowns",
            headers={"x-api-key": ADMIN_KEY},
            timeout=30,
        )
        assert cleared.status_code == 200


def test_an_operator_runs_the_proxy_from_the_panel(browser: Any, served: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(served) else outside.append(r.url))

    # a wrong key: a clear message, no session
    page.goto(served + "/panel")
    expect(page).to_have_url(re.compile(r"/panel/login$"))
    page.get_by_label("Admin key").fill("wrong-key-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-message")).to_have_text("That is not the admin key.")
    assert "wrong-key-123" not in page.content()

    # log in (keyboard only: the form submits on Enter)
    page.get_by_label("Admin key").fill(ADMIN_KEY)
    page.get_by_label("Admin key").press("Enter")
    expect(page).to_have_url(re.compile(r"/panel/flags$"))
    flags = page.locator("#flags tbody tr")
    expect(flags).to_have_count(4)
    cookie = next(c for c in context.cookies() if c["name"] == "compatkit_panel")
    assert (
        cookie["httpOnly"] and cookie["sameSite"] == "Strict" and ADMIN_KEY not in cookie["value"]
    )

    # the retry track is off: a rate-limited request cools nothing down (v1 keeps no cooldowns)
    assert isinstance(ask(served, scenario("rate_limited")), anthropic.RateLimitError)
    assert all(not c["cooldowns"] for c in admin_get(served, "/admin/credentials")["data"])

    # turn it on from the panel: the admin API and the next request see the new arm
    retry_row = page.locator('tr[data-flag="ff_retry_policy_v2"]')
    retry_row.get_by_role("button", name="Turn ff_retry_policy_v2 on").click()
    expect(page.locator("#changed")).to_contain_text("ff_retry_policy_v2 applied")
    expect(retry_row.locator("[data-value]")).to_have_text("on")
    expect(retry_row.locator("[data-source]")).to_contain_text("set at run time")
    assert admin_get(served, "/admin/flags")["flags"]["ff_retry_policy_v2"] is True

    # the pool ships on (server.flags.SHIPPED_ON): a default, not a run-time change
    pool_row = page.locator('tr[data-flag="ff_http2_pool_tuning"]')
    expect(pool_row.locator("[data-value]")).to_have_text("on")
    expect(pool_row.locator("[data-source]")).not_to_contain_text("set at run time")

    # keyboard only: Tab to another flag's toggle (its focus ring shows) and press Enter
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_LABEL) == "Turn ff_converter_fast_path on":
            break
    assert page.evaluate(FOCUSED_LABEL) == "Turn ff_converter_fast_path on"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.locator('tr[data-flag="ff_converter_fast_path"] [data-value]')).to_have_text("on")
    assert admin_get(served, "/admin/flags")["flags"]["ff_converter_fast_path"] is True
    assert isinstance(ask(served, scenario("rate_limited")), anthropic.RateLimitError)
    page.get_by_role("link", name="Credentials").click()
    cooling = page.locator('tr:has([data-state]:text("cooling down"))')
    expect(cooling.first).to_be_visible()
    cooled = cooling.first.get_attribute("data-credential")
    expect(cooling.first.locator("[data-cooldowns]")).to_contain_text("gemini-2.5-flash until")
    cooling.first.get_by_role("button", name=f"Clear the cooldowns of {cooled}").click()
    row = page.locator(f'tr[data-credential="{cooled}"]')
    expect(row.locator("[data-state]")).to_have_text("ready")

    # disable another credential with a reason: the admin API shows it, no key is ever shown
    victim = page.locator(
        f'#credentials tbody tr:not([data-credential="{cooled}"])'
    ).first.get_attribute("data-credential")
    victim_row = page.locator(f'tr[data-credential="{victim}"]')
    victim_row.get_by_label(f"Reason to disable {victim}").fill("key rotation")
    victim_row.get_by_role("button", name=f"Disable {victim}").click()
    expect(victim_row.locator("[data-state]")).to_have_text("disabled")
    expect(victim_row.locator("[data-reason]")).to_have_text("key rotation")
    listed = {c["id"]: c for c in admin_get(served, "/admin/credentials")["data"]}
    assert (
        listed[victim]["state"] == "disabled"
        and listed[victim]["disabled_reason"] == "key rotation"
    )
    assert not any(key in page.content() for key in UPSTREAM_KEYS)

    # live metrics move with real requests, without reloading the page
    page.get_by_role("link", name="Live metrics").click()
    total = page.locator('[data-total="requests"]')
    expect(total).not_to_have_text("–")
    before = float(total.inner_text())
    for _ in range(4):
        assert isinstance(ask(served), anthropic.types.Message)
    expect(total).to_have_text(str(int(before + 4)), timeout=WAIT_MS)
    expect(page.locator('#routes tr[data-route="/v1/messages"]')).to_be_visible()
    expect(page.locator(f'#credential-metrics tr[data-credential="{victim}"]')).to_contain_text(
        "disabled"
    )
    expect(page.locator("#rate-chart polyline")).to_have_count(1, timeout=WAIT_MS)

    # the other charts move too: TTFT of a stream, then the emulator's 429 and capacity
    # scenarios (an upstream 429 and a capacity error, each an error answer of its type)
    assert ask_streaming(served) > 0
    expect(page.locator('#ttft-chart polyline[data-series="p95"]').first).to_be_attached(
        timeout=WAIT_MS
    )
    for fault in ("rate_limited", "capacity_503"):
        clear_cooldowns(served)  # so the request reaches the emulator, not an all-cooling pool
        assert isinstance(ask(served, scenario(fault)), anthropic.APIStatusError)
    for legend, line in (("upstream", "upstream 429"), ("upstream", "capacity errors")):
        moved = page.locator(f'#{legend}-legend li[data-series="{line}"]')
        expect(moved).not_to_have_attribute("data-peak", "0", timeout=WAIT_MS)
    error_lines = page.locator("#errors-chart polyline")
    expect(error_lines.first).to_be_attached(timeout=WAIT_MS)
    assert any(name.startswith("HTTP ") for name in error_lines.evaluate_all(SERIES_NAMES))
    expect(page.locator("#errors-legend")).to_contain_text("HTTP ")
    screenshot = os.environ.get("COMPATKIT_PANEL_SCREENSHOT")
    if screenshot:
        page.screenshot(path=str(ROOT / screenshot), full_page=True)

    # the gate's reports, linked
    page.get_by_role("link", name="Gate reports").click()
    report_row = page.locator('tr[data-report="20261205T120000Z"]')
    expect(report_row.locator("[data-verdict]")).to_have_text("PROMOTE")
    report_row.get_by_role("link", name="rollout-guard").click()
    expect(page.locator("h1")).to_have_text("Gate report PROMOTE")
    page.go_back()

    # a POST without the CSRF token, from this very session, is refused and changes nothing
    refused = page.request.post(
        served + "/panel/flags/ff_preview_credential_scheduler_v2",
        form={"value": "on"},
        max_redirects=0,
    )
    assert refused.status == 403 and "CSRF" in refused.text()
    assert admin_get(served, "/admin/flags")["flags"]["ff_preview_credential_scheduler_v2"] is False

    # a phone-sized window: every page fits 400 px, wide tables scroll inside their box
    page.set_viewport_size({"width": 400, "height": 800})
    for path in ("/panel/flags", "/panel/credentials", "/panel/metrics", "/panel/reports"):
        page.goto(served + path)
        overflowing = page.evaluate(OVERFLOWING_ELEMENTS)
        assert page.evaluate("document.documentElement.scrollWidth") <= 400, (path, overflowing)

    # log out: the panel is closed again
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#login-message")).to_have_text("You are logged out.")
    page.goto(served + "/panel/flags")
    expect(page).to_have_url(re.compile(r"/panel/login$"))

    assert not problems, problems
    assert not outside, outside  # nothing fetched from anywhere but the proxy
    context.close()
