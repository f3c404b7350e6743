"""Routers for web pages: errors become pages, state-changing requests need the CSRF token.

    router = page_router()                       # in web/pages/<name>.py

    @router.get("/hello")
    def hello(request: Request) -> HTMLResponse:
        return render(request, "hello.html", {"name": "…"})

Every module in ``certcenter.web.pages`` with a ``router`` is included by ``install``.
Route functions may be sync (run in the thread pool, like the API's: the domain and the
database drivers are synchronous). A :class:`CertCenterError` they raise is shown as the
error page with the catalog's status; anything unexpected as ``INTERNAL_ERROR``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends as DependsParam
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from certcenter.errors import CertCenterError
from certcenter.web.error_pages import error_page, http_error, unexpected_page, validation_error
from certcenter.web.security import verify_csrf


class Respond(Exception):  # noqa: N818 - not an error: the answer a dependency decided on
    """Raised by a page dependency that decides the answer itself (a redirect)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class WebRoute(APIRoute):
    """An API route whose failures are pages, never problem documents or tracebacks."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Respond as exc:
                return exc.response
            except CertCenterError as exc:
                return error_page(request, exc)
            except RequestValidationError as exc:
                return error_page(request, validation_error(exc))
            except StarletteHTTPException as exc:
                return error_page(request, http_error(exc))
            except ClientDisconnect:
                raise  # the client left: no page, no incident (the server ends it quietly)
            except Exception as exc:  # noqa: BLE001 - a page, with an incident number
                return unexpected_page(request, exc)

        return page_handler


def page_router(prefix: str = "", dependencies: Sequence[DependsParam] = ()) -> APIRouter:
    """A router for pages: :class:`WebRoute`, HTML responses, hidden from the OpenAPI
    description, and the CSRF check on every POST/PUT/PATCH/DELETE."""
    return APIRouter(
        prefix=prefix,
        route_class=WebRoute,
        include_in_schema=False,
        default_response_class=HTMLResponse,
        dependencies=[Depends(verify_csrf), *dependencies],
    )
