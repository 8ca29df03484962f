"""``GET /metrics``: the hub's metrics in Prometheus' text format (``identity.metrics``), for
the addresses in ``HUB_METRICS_ALLOW_IPS`` (loopback by default) and for whoever sends
``HUB_METRICS_TOKEN`` as a bearer token; 403 for anyone else.

A request that came through a proxy (it has ``X-Forwarded-For`` or ``Forwarded``) is never
taken for one from an allowed address: a proxy on the hub's own host would otherwise make
every request from the internet look like one from loopback.
"""

from __future__ import annotations

import hmac
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from identity import metrics
from identity.settings import Settings

router = APIRouter(include_in_schema=False)
FORWARDED = (b"x-forwarded-for", b"forwarded")


@router.get("/metrics")
def exposition(request: Request) -> Response:
    if not allowed(request, request.app.state.settings):
        return PlainTextResponse(
            "Metrics are not served to this address; see HUB_METRICS_ALLOW_IPS.", status_code=403
        )
    return Response(
        metrics.exposition(),
        media_type=metrics.CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )


def allowed(request: Request, settings: Settings) -> bool:
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {settings.metrics_token}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            return True
    if any(name in FORWARDED for name, _ in request.scope["headers"]):
        return False
    client = request.client
    if client is None:
        return False
    try:
        address = ip_address(client.host)
    except ValueError:
        return False
    return any(address in network for network in _networks(settings.metrics_allow_ips))


@cache
def _networks(allowed_ips: str) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(part, strict=False) for part in allowed_ips.split(",") if part)
