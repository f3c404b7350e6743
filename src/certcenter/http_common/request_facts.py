"""Facts about an incoming request that the API and the web pages both rely on.

    center = center_of(request)     # the Center the app serves (tests swap in their own)
    ip = client_ip(request)         # X-Forwarded-For is believed only from trusted proxies

Language is not here: the API reads ``Accept-Language``, the web pages the ``lang`` cookie.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import HTTPConnection

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError


def center_of(request: HTTPConnection) -> Center:
    center: Center = request.app.state.center
    return center


def client_ip(request: HTTPConnection) -> str:
    """The caller's address; ``X-Forwarded-For`` is believed only from trusted proxies."""
    center = center_of(request)
    peer = request.client.host if request.client else "0.0.0.0"  # noqa: S104 - an address, not a bind
    trusted = set(center.settings.trusted_proxies)
    forwarded = request.headers.get("x-forwarded-for")
    if peer in trusted and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in trusted:
                return _valid_ip(hop)
    return peer


def _valid_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise CertCenterError(
            "INVALID_REQUEST", detail="X-Forwarded-For is not an address"
        ) from None
