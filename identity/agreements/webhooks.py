"""Partner systems following agreement changes: each agreement version published from now on is
POSTed to every ``HUB_WEBHOOK_URLS`` address as a JSON event, signed with HMAC-SHA256 under
``HUB_WEBHOOK_SECRET``, and retried with growing pauses until the address answers 2xx (or is
given up). Every try is kept in the delivery log (``WebhookDelivery``), shown to consortium
administrators at ``/admin/webhooks``.

The signature is ``X-Hub-Signature-256: sha256=<hex>`` over ``<X-Hub-Timestamp>.<body>``: a
receiver recomputes it with the shared secret, compares in constant time, and refuses an old
timestamp (a replay). ``hub serve`` runs ``deliver_due`` every ``HUB_WEBHOOK_INTERVAL_S``, one
instance at a time per delivery (the same lease as the mail outbox).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

import anyio
import anyio.to_thread
import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from identity import logs
from identity.admin.outbox import BACKOFF, LEASE
from identity.settings import Settings, webhook_urls
from identity.store import database
from identity.store.database import lock, transaction
from identity.store.models import AgreementVersion, WebhookDelivery, as_utc, utcnow

TIMEOUT_S = 10
BATCH = 50
log = logs.get("hub.webhooks")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def deliver_due(*, engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """Log a delivery of each version not yet told to each address, then try every delivery
    that is due; returns how many were delivered now."""
    now = now or utcnow()
    urls = webhook_urls(settings.webhook_urls)
    if not urls:
        return 0
    with transaction(engine) as session:
        lock(session, "webhooks")
        _log_new_versions(session, urls, now)
        due = session.exec(
            select(WebhookDelivery)
            .where(
                col(WebhookDelivery.url).in_(urls),
                col(WebhookDelivery.delivered_at).is_(None),
                col(WebhookDelivery.given_up_at).is_(None),
                col(WebhookDelivery.next_attempt_at) <= now,
            )
            .order_by(col(WebhookDelivery.id))
            .limit(BATCH)
        ).all()
        taken = []
        for delivery in due:
            delivery.next_attempt_at = now + LEASE
            session.add(delivery)
            version = session.get(AgreementVersion, delivery.version)
            if version is not None:
                taken.append((delivery.id, delivery.url, _event(delivery, version)))
    outcomes = {number: _post(settings, url, number, body) for number, url, body in taken}
    return _record(engine, outcomes, now)


def _log_new_versions(session: Session, urls: list[str], now: datetime) -> None:
    newest = session.exec(select(func.max(AgreementVersion.id))).one()
    if newest is None:
        return
    for url in urls:
        told = session.exec(
            select(func.max(WebhookDelivery.version)).where(WebhookDelivery.url == url)
        ).one()
        start = newest if told is None else told + 1  # a new address: from the version in force
        for number in range(start, newest + 1):
            session.add(WebhookDelivery(url=url, version=number, next_attempt_at=now))
    session.flush()


def _event(delivery: WebhookDelivery, version: AgreementVersion) -> bytes:
    event = {
        "event": "agreements.published",
        "delivery": delivery.id,
        "version": version.id,
        "published_at": as_utc(version.published_at).isoformat(timespec="seconds"),
        "note": version.note,
        "libraries": version.libraries,
        "agreements": version.agreements,
    }
    return json.dumps(event, separators=(",", ":")).encode()


def _post(settings: Settings, url: str, number: int | None, body: bytes) -> tuple[int | None, str]:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Timestamp": timestamp,
        "X-Hub-Delivery": str(number),
        "X-Hub-Signature-256": signature(settings.webhook_secret, timestamp, body),
    }
    try:
        answer = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    return answer.status_code, "" if answer.is_success else f"answered {answer.status_code}"


def _record(engine: Engine, outcomes: dict[int | None, tuple[int | None, str]],
            now: datetime) -> int:  # fmt: skip
    delivered = 0
    with transaction(engine) as session:
        for number, (status, error) in outcomes.items():
            row = session.get(WebhookDelivery, number)
            if row is None:
                continue
            row.attempts += 1
            row.last_status, row.last_error = status, error or None
            if not error:
                row.delivered_at = now
                delivered += 1
            elif row.attempts > len(BACKOFF):
                row.given_up_at = now
                log.warning("webhook given up", delivery=number, url=row.url, error=error)
            else:
                row.next_attempt_at = now + BACKOFF[row.attempts - 1]
                log.warning("webhook not delivered", delivery=number, url=row.url,
                            attempts=row.attempts, error=error)  # fmt: skip
            session.add(row)
    return delivered


def deliveries(*, session: Session, limit: int = 100) -> list[WebhookDelivery]:
    """The newest deliveries first (the log's page)."""
    query = select(WebhookDelivery).order_by(col(WebhookDelivery.id).desc()).limit(limit)
    return list(session.exec(query).all())


class Sender:
    def __init__(self, *, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings

    async def run(self) -> None:
        while True:
            await anyio.sleep(self.settings.webhook_interval_s)
            try:
                await anyio.to_thread.run_sync(self.once)
            except Exception as exc:
                if not database.unavailable(exc):
                    raise
                log.warning("webhooks postponed: the database cannot be reached")

    def once(self) -> int:
        return deliver_due(engine=self.engine, settings=self.settings)
