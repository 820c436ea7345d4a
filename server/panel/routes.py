"""The panel's routes: pages under /panel, behind a login with the admin key.

    GET  /panel                                  to the flags page (or the login form)
    GET  /panel/login    POST /panel/login       the login form; the admin key in, a session out
    POST /panel/logout                           end the session
    GET  /panel/flags    POST /panel/flags/{name}          value=on|off|default
    GET  /panel/credentials
    POST /panel/credentials/{id}/disable|enable|clear-cooldowns
    GET  /panel/metrics  GET /panel/api/metrics  the live page and the JSON it polls
    GET  /panel/reports  GET /panel/reports/{folder}/report.html
    GET  /panel/static/{file}

Plan: every page but the login form needs a session cookie (server.panel.session) not revoked
in the state store (a logout on one worker or instance ends the session on all); every POST
also needs the session's CSRF token (a form field, or `x-csrf-token` from script) and, when the
browser sends one, an Origin of this server. Changes go through the same objects as the admin
API (`FlagService.set` / `.reset`, `CredentialBoard.disable` / `.enable` / `.clear_cooldown`),
so the next request sees them; each change is an audit line in the state store (who, when,
old → new), so the Flags page shows every instance's changes and they survive a restart. Refusals are pages with a reason and the right status, never a
500; nothing secret is rendered: credentials by id only, the admin key never echoed or logged.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quart import Blueprint, Response, redirect, render_template, request, send_file
from werkzeug.exceptions import HTTPException

from server.credentials.scheduler import CredentialBoard
from server.edge.auth import KeyRing
from server.edge.services import Services
from server.flags import FLAG_NAMES, FlagError, parse_flag_value
from server.panel.errors import Refusal
from server.panel.gate_reports import find_reports, report_page
from server.panel.live_metrics import MetricsHistory, take_snapshot
from server.panel.login_throttle import LoginThrottle
from server.panel.session import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    PanelKeys,
    Session,
    cookie_attributes,
)
from server.state.store import AuditLine, StateStore

log = logging.getLogger("compatkit.panel")

_HERE = Path(__file__).parent
_STATIC_FILES = {"panel.css": "text/css", "panel.js": "text/javascript"}
_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# report.html is self-contained: inline style and SVG, no script, no network.
_REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
_AUDIT_SHOWN = 50


@dataclass(slots=True)
class PanelState:
    """What one app's panel keeps: its keys, the state store (audit lines, logouts), the
    metrics history and the wrong-key counts."""

    keys: PanelKeys | None
    admin_keys: KeyRing
    reports_dir: Path
    store: StateStore
    clock: Callable[[], float] = time.time
    history: MetricsHistory = field(default_factory=MetricsHistory)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    async def note(self, session: Session, action: str) -> None:
        """Keep an audit line in the store and log it (flag changes: FlagService writes it)."""
        await self.store.add_audit(AuditLine(self.clock(), who(session), action))
        log.info("panel change: %s", action, extra={"panel_session": session.id[:6]})


def who(session: Session) -> str:
    """How an audit line names a panel session (a prefix of its id, never the cookie)."""
    return f"panel session {session.id[:6]}"


def blueprint(
    services: Services, *, reports_dir: Path, clock: Callable[[], float] = time.time
) -> Blueprint:
    """The panel of one app; `reports_dir` is where the gate writes its report folders."""
    admin_key = services.config.admin_key
    panel = PanelState(
        keys=PanelKeys.from_admin_key(admin_key) if admin_key else None,
        admin_keys=services.admin_keys,
        reports_dir=reports_dir,
        store=services.store,
        clock=clock,
    )
    routes = Blueprint(
        "panel", __name__, url_prefix="/panel", template_folder=str(_HERE / "templates")
    )
    _install_guards(routes, panel)
    _login_routes(routes, panel)
    _flag_routes(routes, services, panel)
    _credential_routes(routes, services, panel)
    _metric_routes(routes, services, panel)
    _report_routes(routes, panel)
    return routes


# --- sessions and refusals -------------------------------------------------------------------


def _install_guards(routes: Blueprint, panel: PanelState) -> None:
    @routes.errorhandler(Refusal)
    async def _refused(refusal: Refusal) -> Response:
        return await _page("error.html", status=refusal.status, message=refusal.message)

    @routes.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        status = error.code or 400
        return await _page("error.html", status=status, message=error.description or error.name)

    @routes.after_request
    async def _headers(response: Response) -> Response:
        response.headers.setdefault("content-security-policy", _PAGE_POLICY)
        response.headers["x-frame-options"] = "DENY"
        response.headers["x-content-type-options"] = "nosniff"
        response.headers["referrer-policy"] = "same-origin"  # no-referrer makes Origin "null"
        response.headers["cache-control"] = "no-store"
        return response


def _keys(panel: PanelState) -> PanelKeys:
    if panel.keys is None:
        raise Refusal(403, "The panel is off: this proxy has no admin key (server.admin_key).")
    return panel.keys


async def _session(panel: PanelState) -> Session | None:
    now = panel.clock()
    session = _keys(panel).read(request.cookies.get(SESSION_COOKIE), now)
    if session is None or await panel.store.session_revoked(session.id, now):
        return None
    return session


async def _require_session(panel: PanelState) -> Session:
    """The request's session; a POST must also carry its CSRF token and a same-origin Origin."""
    session = await _session(panel)
    if session is None:
        raise Refusal(401, "Your panel session has ended or is not valid: log in again.")
    if request.method == "POST":
        form = await request.form
        token = request.headers.get("x-csrf-token") or form.get("csrf_token")
        if not _same_origin() or not _keys(panel).csrf_ok(session.id, token):
            raise Refusal(
                403,
                "Refused: this form did not come from your panel session "
                "(missing or wrong CSRF token). Reload the page and try again.",
            )
    return session


def _same_origin() -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


def _secure() -> bool:
    return request.scheme == "https"


async def _page(template: str, *, status: int = 200, **context: Any) -> Response:
    body = await render_template(f"panel/{template}", **context)
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def _signed_in(panel: PanelState) -> Callable[..., Callable[..., Awaitable[Response]]]:
    """Decorator: call the view with a context (CSRF token, session) once the session is checked;
    a GET without a session goes to the login form, a POST is refused (401 or 403)."""

    def wrap(view: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        async def guarded(**kwargs: Any) -> Response:
            session = await _session(panel) if request.method == "GET" else None
            if request.method == "GET" and session is None:
                return redirect("/panel/login", 303)  # type: ignore[return-value]
            session = session or await _require_session(panel)
            context = {
                "csrf_token": _keys(panel).csrf_token(session.id),
                "panel_session": session,
                "signed_in": True,
            }
            return await view(context, **kwargs)

        guarded.__name__ = view.__name__
        return guarded

    return wrap


# --- login and logout ------------------------------------------------------------------------


def _login_routes(routes: Blueprint, panel: PanelState) -> None:
    @routes.get("")
    @routes.get("/")
    async def home() -> Response:
        target = "/panel/flags" if await _session(panel) is not None else "/panel/login"
        return redirect(target, 303)  # type: ignore[return-value]

    @routes.get("/login")
    async def login_form() -> Response:
        return await _login_page(panel, status=200, message=request.args.get("note", ""))

    @routes.post("/login")
    async def login() -> Response:
        keys = _keys(panel)
        form = await request.form
        client = request.remote_addr or "-"
        if not keys.login_ok(request.cookies.get(LOGIN_COOKIE), form.get("login_token")):
            return await _login_page(
                panel,
                403,
                "This login form expired or did not come from this panel: try again.",
                error=True,
            )
        wait = panel.throttle.wait(client)
        if wait > 0:
            return await _login_page(
                panel, 429, f"Too many wrong keys: try again in {wait:.0f} s.", error=True
            )
        key = form.get("admin_key", "").strip()
        if not key:
            return await _login_page(panel, 400, "Enter the admin key.", error=True)
        if not panel.admin_keys.accepts(key):
            panel.throttle.failed(client)
            log.warning("panel login refused: wrong admin key", extra={"client": client})
            return await _login_page(panel, 401, "That is not the admin key.", error=True)
        panel.throttle.succeeded(client)
        session = keys.issue(panel.clock())
        response = redirect("/panel/flags", 303)
        response.set_cookie(
            SESSION_COOKIE,
            keys.cookie_value(session),
            **cookie_attributes(secure=_secure(), max_age=int(keys.lifetime)),  # type: ignore[arg-type]
        )
        response.delete_cookie(LOGIN_COOKIE, path="/panel")
        return response  # type: ignore[return-value]

    @routes.post("/logout")
    async def logout() -> Response:
        session = await _require_session(panel)
        await panel.store.revoke_session(session.id, session.expires)
        response = redirect("/panel/login?note=You+are+logged+out.", 303)
        response.delete_cookie(
            SESSION_COOKIE, path="/panel", secure=_secure(), httponly=True, samesite="Strict"
        )
        return response  # type: ignore[return-value]


async def _login_page(
    panel: PanelState, status: int, message: str, error: bool = False
) -> Response:
    keys = _keys(panel)
    nonce = secrets.token_urlsafe(18)
    response = await _page(
        "login.html",
        status=status,
        message=message,
        error=error,
        login_token=keys.login_token(nonce),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        **cookie_attributes(secure=_secure(), max_age=3600),  # type: ignore[arg-type]
    )
    return response


# --- flags -----------------------------------------------------------------------------------


def _flag_routes(routes: Blueprint, services: Services, panel: PanelState) -> None:
    @routes.get("/flags")
    @_signed_in(panel)
    async def flags_page(context: dict[str, Any]) -> Response:
        return await _page(
            "flags.html",
            flags=await _flag_rows(services),
            audit=[_audit_row(line) for line in await services.store.audit(_AUDIT_SHOWN)],
            changed=request.args.get("changed", ""),
            tab="flags",
            **context,
        )

    @routes.post("/flags/<name>")
    @_signed_in(panel)
    async def set_flag(context: dict[str, Any], name: str) -> Response:
        if name not in FLAG_NAMES:
            raise Refusal(404, "No flag of that name.")
        choice = (await request.form).get("value", "")
        changed_by = who(context["panel_session"])
        try:
            if choice == "default":
                await services.flags.reset(name, who=changed_by)
            else:
                await services.flags.set(name, parse_flag_value(choice), who=changed_by)
        except FlagError:
            raise Refusal(400, "A flag's value must be on, off or default.") from None
        log.info("panel change: flag %s %s", name, choice, extra={"panel_session": changed_by})
        return redirect(f"/panel/flags?changed={name}", 303)  # type: ignore[return-value]


async def _flag_rows(services: Services) -> list[dict[str, Any]]:
    current = (await services.flags.current()).as_dict()
    stored = await services.store.get_flags()
    configured = services.flags.defaults.as_dict()
    rows = []
    for name in FLAG_NAMES:
        if name in stored:
            source = "set at run time (admin API or panel)"
        elif configured[name]:
            source = "config ([flags] or COMPATKIT_" + name.upper() + ")"
        else:
            source = "default (off)"
        rows.append(
            {
                "name": name,
                "on": current[name],
                "source": source,
                "runtime": name in stored,
                "configured": configured[name],
            }
        )
    return rows


def _audit_row(line: AuditLine) -> dict[str, str]:
    when = datetime.fromtimestamp(line.at, UTC).isoformat(timespec="seconds")
    return {"when": when, "who": line.who, "what": line.what}


# --- credentials -----------------------------------------------------------------------------


def _credential_routes(routes: Blueprint, services: Services, panel: PanelState) -> None:
    @routes.get("/credentials")
    @_signed_in(panel)
    async def credentials_page(context: dict[str, Any]) -> Response:
        rows = await _credential_rows(services, panel.clock())
        board = services.board
        return await _page(
            "credentials.html",
            credentials=rows,
            configured=board is not None,
            changed=request.args.get("changed", ""),
            tab="credentials",
            **context,
        )

    @routes.post("/credentials/<credential_id>/<action>")
    @_signed_in(panel)
    async def change_credential(
        context: dict[str, Any], credential_id: str, action: str
    ) -> Response:
        board = _board(services, credential_id)
        if action == "disable":
            reason = ((await request.form).get("reason") or "").strip()[:200]
            await board.disable(credential_id, reason or "disabled by an operator")
        elif action == "enable":
            await board.enable(credential_id)
        elif action == "clear-cooldowns":
            status = next(s for s in board.snapshot() if s.credential == credential_id)
            for model in status.cooldowns:
                await board.clear_cooldown(credential_id, model)
        else:
            raise Refusal(404, "No such credential action (disable, enable, clear-cooldowns).")
        await panel.note(context["panel_session"], f"credential {credential_id}: {action}")
        return redirect(f"/panel/credentials?changed={credential_id}", 303)  # type: ignore[return-value]


async def _credential_rows(services: Services, now: float) -> list[dict[str, Any]]:
    """One row per credential: the board's live state, this process's attempts (metrics), and
    the store's lifetime health and usage (written behind, so a moment late)."""
    if services.board is None:
        return []
    snapshot = take_snapshot(services.metrics.readable(), now)
    attempts: dict[str, float] = {}
    for (credential, _), value in snapshot.attempts.items():
        attempts[credential] = attempts.get(credential, 0.0) + value
    health = await services.store.health()
    usage: dict[str, list[int]] = {}
    for row in await services.store.usage():
        totals = usage.setdefault(row.credential, [0, 0, 0])
        totals[0] += row.requests
        totals[1] += row.input_tokens
        totals[2] += row.output_tokens
    rows = []
    for status in services.board.snapshot():
        known = health.get(status.credential)
        rows.append(
            {
                "id": status.credential,
                "kind": status.kind,
                "state": status.state,
                "in_flight": status.in_flight,
                "error_rate": status.error_rate,
                "disabled_reason": status.disabled_reason,
                "cooldowns": [
                    {"model": model, "left": left, "until": _clock_time(now + left)}
                    for model, left in sorted(status.cooldowns.items())
                ],
                "attempts": attempts.get(status.credential, 0.0),
                "rate_limited": snapshot.rate_limited.get(status.credential, 0.0),
                "last_error": (known.last_error or "")[:200] if known else "",
                "last_error_at": _clock_time(known.last_error_at)
                if known and known.last_error_at
                else "",
                "usage": usage.get(status.credential, [0, 0, 0]),
            }
        )
    return rows


def _clock_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S UTC")


def _board(services: Services, credential_id: str) -> CredentialBoard:
    board = services.board
    if board is None:
        raise Refusal(503, "This proxy has no upstream configured, so no credentials.")
    if credential_id not in {c.id for c in board.credentials}:
        raise Refusal(404, "No credential with that id.")
    return board


# --- metrics and reports ---------------------------------------------------------------------


def _metric_routes(routes: Blueprint, services: Services, panel: PanelState) -> None:
    @routes.get("/metrics")
    @_signed_in(panel)
    async def metrics_page(context: dict[str, Any]) -> Response:
        return await _page("metrics.html", tab="metrics", **context)

    @routes.get("/api/metrics")
    async def metrics_document() -> Response:
        if await _session(panel) is None:
            return Response(
                '{"error": "log in to the panel first"}',
                status=401,
                content_type="application/json",
            )
        panel.history.record(take_snapshot(services.metrics.readable(), panel.clock()))
        document = panel.history.document()
        document["credential_states"] = dict(services.credential_states())
        return Response(json.dumps(document), content_type="application/json")


def _report_routes(routes: Blueprint, panel: PanelState) -> None:
    @routes.get("/reports")
    @_signed_in(panel)
    async def reports_page(context: dict[str, Any]) -> Response:
        reports = find_reports(panel.reports_dir)
        return await _page(
            "reports.html", reports=reports, folder=str(panel.reports_dir), tab="reports", **context
        )

    @routes.get("/reports/<path:name>/report.html")
    @_signed_in(panel)
    async def report(context: dict[str, Any], name: str) -> Response:
        page = report_page(panel.reports_dir, name)
        if page is None:
            raise Refusal(404, "No report of that name in the reports folder.")
        response = await send_file(page, mimetype="text/html")
        response.headers["content-security-policy"] = _REPORT_POLICY
        return response

    @routes.get("/static/<name>")
    async def static(name: str) -> Response:
        if name not in _STATIC_FILES:
            raise Refusal(404, "No such file.")
        return await send_file(_HERE / "static" / name, mimetype=_STATIC_FILES[name])
