"""A panel user for tests: an httpx client that logs in with the admin key and posts forms
with the CSRF token of the page it last read, as a browser would."""

from __future__ import annotations

import re
from typing import Any

import httpx

_FIELD = re.compile(r'name="(csrf_token|login_token)" value="([^"]+)"')


def form_token(html: str, name: str = "csrf_token") -> str:
    """The hidden form field `name` of a rendered panel page."""
    for field, value in _FIELD.findall(html):
        if field == name:
            return value
    raise AssertionError(f"no {name} in the page")


class PanelUser:
    """One browser session on the panel of the proxy at `url`."""

    def __init__(self, url: str, verify: Any = True) -> None:
        self.url = url
        self.client = httpx.Client(base_url=url, follow_redirects=False, timeout=30, verify=verify)
        self.csrf = ""

    def close(self) -> None:
        self.client.close()

    def login(self, key: str) -> httpx.Response:
        """Read the login form, post `key` with its token; keep the CSRF token of the next page."""
        form = self.client.get("/panel/login")
        response = self.client.post(
            "/panel/login",
            data={"admin_key": key, "login_token": form_token(form.text, "login_token")},
        )
        if response.status_code == 303:
            self.csrf = form_token(self.page("/panel/flags").text)
        return response

    def page(self, path: str) -> httpx.Response:
        response = self.client.get(path)
        if response.status_code == 200 and 'name="csrf_token"' in response.text:
            self.csrf = form_token(response.text)
        return response

    def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        fields = {**(data or {}), **({"csrf_token": self.csrf} if csrf else {})}
        return self.client.post(path, data=fields)
