"""The panel through a real server: every action needs a session and its CSRF token, bad input is
a page with a reason and the right status, and a change made here is what the admin API and the
next proxied request see."""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import trustme

from conformance.emulator.testing import RunningEmulator
from server.app import create_app
from server.hosting import ServerThread
from server.panel.session import PanelKeys
from tests.server.conftest import (
    ADMIN_KEY,
    PROXY_KEY,
    UPSTREAM_KEYS,
    RunningProxy,
    proxy_config,
    scenario,
)
from tests.server.panel.panel_client import PanelUser, form_token

PAGES = ("/panel/flags", "/panel/credentials", "/panel/metrics", "/panel/reports")


def admin(proxy: RunningProxy) -> httpx.Client:
    return httpx.Client(base_url=proxy.url, headers={"x-api-key": ADMIN_KEY}, timeout=30)


def test_pages_without_a_session_send_the_browser_to_the_login_form(user: PanelUser) -> None:
    for path in (*PAGES, "/panel"):
        response = user.client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/panel/login"
    assert user.client.get("/panel/api/metrics").status_code == 401


def test_a_wrong_key_is_a_clear_401_page_that_never_echoes_the_key(user: PanelUser) -> None:
    response = user.login("not-the-admin-key-4242")
    assert response.status_code == 401
    assert "That is not the admin key." in response.text
    assert "not-the-admin-key-4242" not in response.text
    assert "compatkit_panel=" not in response.headers.get("set-cookie", "")
    assert user.client.get("/panel/flags").status_code == 303


def test_an_empty_key_is_a_400(user: PanelUser) -> None:
    assert user.login("").status_code == 400


def test_logging_in_sets_a_strict_http_only_expiring_cookie(user: PanelUser) -> None:
    response = user.login(ADMIN_KEY)
    assert response.status_code == 303 and response.headers["location"] == "/panel/flags"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("compatkit_panel=")
    )
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in attributes  # plain HTTP here; over TLS the cookie is Secure
    assert ADMIN_KEY not in cookie
    for path in PAGES:
        page = user.page(path)
        assert page.status_code == 200, path
        assert ADMIN_KEY not in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_a_login_form_not_rendered_for_this_browser_is_refused(user: PanelUser) -> None:
    form = user.client.get("/panel/login")
    forged = user.client.post(
        "/panel/login", data={"admin_key": ADMIN_KEY, "login_token": "forged"}
    )
    assert forged.status_code == 403
    stranger = httpx.Client(base_url=user.url)  # another browser posting this page's token
    stolen = stranger.post(
        "/panel/login",
        data={"admin_key": ADMIN_KEY, "login_token": form_token(form.text, "login_token")},
    )
    stranger.close()
    assert stolen.status_code == 403


def test_guessing_the_key_is_throttled(user: PanelUser) -> None:
    statuses = [user.login(f"guess-{n}").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert user.login(ADMIN_KEY).status_code == 429  # not even compared inside the window


def test_a_flag_toggled_on_the_panel_is_what_the_admin_api_and_the_next_request_see(
    user: PanelUser, panel_proxy: RunningProxy
) -> None:
    user.login(ADMIN_KEY)
    response = user.post("/panel/flags/ff_retry_policy_v2", {"value": "on"})
    assert response.status_code == 303
    with admin(panel_proxy) as api:
        assert api.get("/admin/flags").json()["flags"]["ff_retry_policy_v2"] is True
    page = user.page(response.headers["location"]).text
    assert "ff_retry_policy_v2 applied" in page and "set at run time" in page
    assert re.search(r"ff_retry_policy_v2: off → on", page)  # the audit line
    flags = panel_proxy.run(panel_proxy.services.flags.current())
    assert flags.ff_retry_policy_v2 is True
    user.post("/panel/flags/ff_retry_policy_v2", {"value": "default"})
    with admin(panel_proxy) as api:
        assert api.get("/admin/flags").json()["flags"]["ff_retry_policy_v2"] is False


def test_the_audit_lines_live_in_the_state_store_and_survive_a_restart(
    proxy_factory: Callable[..., RunningProxy], tmp_path: Path
) -> None:
    """Every flag change, from the panel or the admin API, is an audit line (who, when,
    old → new) in the store: a proxy started again on the same state file shows them all."""
    state = str(tmp_path / "state.sqlite3")
    first = proxy_factory(state_path=state)
    user = PanelUser(first.url)
    user.login(ADMIN_KEY)
    user.post("/panel/flags/ff_converter_fast_path", {"value": "on"})
    with admin(first) as api:
        api.put("/admin/flags/ff_http2_pool_tuning", json={"value": True})
    user.post("/panel/flags/ff_converter_fast_path", {"value": "default"})
    user.close()
    first.server.stop()

    second = proxy_factory(state_path=state)
    again = PanelUser(second.url)
    again.login(ADMIN_KEY)
    page = again.page("/panel/flags").text
    again.close()
    lines = re.findall(r"<li><time>([^<]+)</time> ([^:]+): ([^<]+)</li>", page)
    assert [(who.split()[0], what) for _, who, what in lines] == [
        ("panel", "ff_converter_fast_path: on → off (reset to the configured value)"),
        ("admin", "ff_http2_pool_tuning: off → on"),
        ("panel", "ff_converter_fast_path: off → on"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", when) for when, _, _ in lines)
    audit = second.run(second.services.store.audit())
    assert [line.what for line in audit] == [what for _, _, what in lines]


def test_a_flag_value_that_is_not_on_off_or_default_is_a_400(user: PanelUser) -> None:
    user.login(ADMIN_KEY)
    assert user.post("/panel/flags/ff_retry_policy_v2", {"value": "maybe"}).status_code == 400
    assert user.post("/panel/flags/ff_no_such_flag", {"value": "on"}).status_code == 404


def test_every_change_without_the_csrf_token_is_refused(
    user: PanelUser, panel_proxy: RunningProxy
) -> None:
    user.login(ADMIN_KEY)
    credential = panel_proxy.services.board.credentials[0].id  # type: ignore[union-attr]
    for path, data in (
        ("/panel/flags/ff_retry_policy_v2", {"value": "on"}),
        (f"/panel/credentials/{credential}/disable", {"reason": "x"}),
        (f"/panel/credentials/{credential}/enable", {}),
        (f"/panel/credentials/{credential}/clear-cooldowns", {}),
        ("/panel/logout", {}),
    ):
        missing = user.post(path, data, csrf=False)
        wrong = user.client.post(path, data={**data, "csrf_token": "x" + user.csrf[1:]})
        assert missing.status_code == wrong.status_code == 403, path
        assert "CSRF" in missing.text
    with admin(panel_proxy) as api:
        assert api.get("/admin/flags").json()["flags"]["ff_retry_policy_v2"] is False
        states = {c["credential"]: c["state"] for c in api.get("/admin/credentials").json()["data"]}
    assert states[credential] == "ready"
    assert user.page("/panel/flags").status_code == 200  # still logged in


def test_a_post_from_another_origin_is_refused_even_with_the_token(user: PanelUser) -> None:
    user.login(ADMIN_KEY)
    response = user.client.post(
        "/panel/flags/ff_retry_policy_v2",
        data={"value": "on", "csrf_token": user.csrf},
        headers={"origin": "http://evil.example"},
    )
    assert response.status_code == 403


def test_disable_enable_and_clear_cooldowns_of_a_credential(
    user: PanelUser, panel_proxy: RunningProxy
) -> None:
    user.login(ADMIN_KEY)
    board = panel_proxy.services.board
    assert board is not None
    credential = board.credentials[1].id
    user.post(f"/panel/credentials/{credential}/disable", {"reason": "rotating the key"})
    with admin(panel_proxy) as api:
        row = next(c for c in api.get("/admin/credentials").json()["data"] if c["id"] == credential)
    assert row["state"] == "disabled" and row["disabled_reason"] == "rotating the key"
    page = user.page("/panel/credentials").text
    assert "rotating the key" in page and "gemini-key-b" not in page
    user.post(f"/panel/credentials/{credential}/enable")
    assert not board.is_disabled(credential)
    panel_proxy.run(board.set_cooldown(credential, "gemini-2.5-pro", 300, "test"))
    assert "gemini-2.5-pro until" in user.page("/panel/credentials").text
    user.post(f"/panel/credentials/{credential}/clear-cooldowns")
    assert board.cooldown_remaining(credential, "gemini-2.5-pro") == 0.0
    assert user.post("/panel/credentials/key-nope/disable").status_code == 404
    assert user.post(f"/panel/credentials/{credential}/explode").status_code == 404


def test_live_metrics_count_proxied_requests_and_leave_the_panel_out(
    user: PanelUser, panel_proxy: RunningProxy
) -> None:
    user.login(ADMIN_KEY)
    before = user.client.get("/panel/api/metrics").json()["totals"]["requests"]
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with httpx.Client(base_url=panel_proxy.url, headers={"x-api-key": PROXY_KEY}) as client:
        for _ in range(3):
            assert client.post("/v1/messages", json=body).status_code == 200
    document = user.client.get("/panel/api/metrics").json()
    assert document["totals"]["requests"] == before + 3
    routes = {row["route"]: row for row in document["routes"]}
    assert not [name for name in routes if name.startswith("/panel")]
    route = routes["/v1/messages"]
    assert route["statuses"] == {"200": 3.0}
    assert route["e2e_p50_ms"] is not None and route["e2e_p50_ms"] > 0
    assert sum(c["attempts"] for c in document["credentials"]) == 3
    assert set(document["credential_states"].values()) == {"ready"}


def test_logout_ends_the_session_even_for_a_copied_cookie(user: PanelUser) -> None:
    user.login(ADMIN_KEY)
    copied = dict(user.client.cookies)
    assert user.post("/panel/logout").status_code == 303
    assert user.client.get("/panel/flags").status_code == 303
    thief = httpx.Client(base_url=user.url, cookies=copied)
    assert thief.get("/panel/flags").status_code == 303
    thief.close()


def test_with_no_admin_key_the_panel_is_off(proxy_factory: Callable[..., RunningProxy]) -> None:
    proxy = proxy_factory(admin_key=None)
    with httpx.Client(base_url=proxy.url) as client:
        response = client.get("/panel/login")
    assert response.status_code == 403 and "no admin key" in response.text


def test_the_credentials_page_shows_usage_and_the_last_error_from_the_store(
    user: PanelUser, panel_proxy: RunningProxy
) -> None:
    user.login(ADMIN_KEY)
    with httpx.Client(base_url=panel_proxy.url, headers={"x-api-key": PROXY_KEY}) as client:
        for text in ("hi", scenario("rate_limited")):
            body = {
                "model": "claude-haiku-4-5",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": text}],
            }
            client.post("/v1/messages", json=body)
    board = panel_proxy.services.board
    assert board is not None
    panel_proxy.run(board.flush())
    page = user.page("/panel/credentials").text
    last_errors = re.findall(r"<td data-last-error>([^<]+)", page)
    assert last_errors and not any(key in page for key in UPSTREAM_KEYS)
    usage = [tuple(map(int, u)) for u in re.findall(r"<td>(\d+), (\d+) / (\d+)</td>", page)]
    assert sum(calls for calls, _, _ in usage) == 2  # the served one and the rate-limited one
    assert sum(output for _, _, output in usage) > 0


def test_over_tls_the_session_cookie_is_also_secure(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    ca = trustme.CA()
    pem = tmp_path / "proxy.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    config = proxy_config(emulator.base_url, emulator.ca_path)
    with ServerThread(create_app(config), certfile=str(pem), keyfile=str(pem)) as server:
        assert server.url.startswith("https://")
        trusted = ssl.create_default_context()
        ca.configure_trust(trusted)
        user = PanelUser(server.url, verify=trusted)
        response = user.login(ADMIN_KEY)
        user.close()
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("compatkit_panel=")
    )
    assert "secure" in {a.strip().lower() for a in cookie.split(";")}


def test_an_expired_or_forged_session_is_sent_back_to_the_login_form(user: PanelUser) -> None:
    keys = PanelKeys.from_admin_key(ADMIN_KEY)
    expired = keys.cookie_value(keys.issue(time.time() - keys.lifetime - 1))
    forged = PanelKeys.from_admin_key("a-guessed-key").cookie_value(keys.issue(time.time()))
    for cookie in (expired, forged, "garbage", ""):
        user.client.cookies.set("compatkit_panel", cookie, path="/panel")
        assert user.client.get("/panel/flags").status_code == 303
        refused = user.client.post("/panel/flags/ff_retry_policy_v2", data={"value": "on"})
        assert refused.status_code == 401 and "log in again" in refused.text
