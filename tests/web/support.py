"""A synchronous client for the in-process app (httpx over ASGI, as a browser on https would
talk to it: the session cookie is Secure), and small readers of the pages it gets back.

    with WebClient(create_app(center)) as web:
        page = web.get("/demo")
        web.post("/demo/calls/01020000001/answer", data={"keyed": "12", **web.csrf("/demo")})
"""

from __future__ import annotations

import asyncio
import html
import re
from types import TracebackType
from typing import Any

import httpx
from fastapi import FastAPI

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_TAGS = re.compile(r"<[^>]+>")


class WebClient:
    def __init__(
        self,
        app: FastAPI,
        base_url: str = "https://testserver",
        client: tuple[str, int] = ("127.0.0.1", 123),  # the browser's address, as the app sees it
    ) -> None:
        self._runner = asyncio.Runner()
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=client),
            base_url=base_url,
            follow_redirects=False,
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self.http.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def follow(self, response: httpx.Response) -> httpx.Response:
        """GET the page a 303 sends to."""
        assert response.status_code == 303, response.text
        return self.get(response.headers["location"])

    def csrf(self, page: str = "/") -> dict[str, str]:
        """The hidden form field with this session's CSRF token (as read from a page)."""
        return {"csrf_token": csrf_token(self.get(page).text)}

    @property
    def cookies(self) -> httpx.Cookies:
        return self.http.cookies

    def close(self) -> None:
        self._runner.run(self.http.aclose())
        self._runner.close()

    def __enter__(self) -> WebClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def csrf_token(page: str) -> str:
    found = _CSRF_META.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def main_text(page: str) -> str:
    """The visible words of the page's <main>, tags removed, entities decoded, spaces folded."""
    start, end = page.index("<main"), page.index("</main>")
    return " ".join(html.unescape(_TAGS.sub(" ", page[start:end])).split())


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([a-z]+)">', page)
    assert found
    return found.group(1)
