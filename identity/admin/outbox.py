"""Email, sent after the fact: ``queue`` writes a mail into the outbox in the caller's
transaction (so it goes if and only if what it tells about is committed, and an administrator's
action never waits for, or fails with, the mail server); ``send_due`` sends what is due through
``HUB_SMTP_HOST``, and a mail the server did not take is tried again later, with growing
pauses (``BACKOFF``), then given up and logged. ``hub serve`` runs ``send_due`` every
``HUB_SMTP_SEND_INTERVAL_S`` (``Sender``).

The connection is upgraded with STARTTLS first (unless ``HUB_SMTP_STARTTLS`` is off), the
server's certificate checked against ``HUB_SMTP_CA_FILE``'s authorities or else the system's; a
server that offers no STARTTLS or is not trusted is told nothing, and the mail waits.

Links in a mail are written relative to the hub, ``HUB_LINK/admin/...``: the sender makes them
absolute with ``HUB_ISSUER``. A mail carrying a one-time link is ``sealed``: its text is kept
encrypted, and emptied once sent. Nothing of a mail's text is logged.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import anyio
import anyio.to_thread
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from identity import logs
from identity.security import derived_keys
from identity.settings import Settings
from identity.store import database
from identity.store.database import lock, transaction
from identity.store.models import OutboxMail, utcnow

HUB_LINK = "{hub}"
#: the pause after each failed try; after the last, the mail is given up
BACKOFF = tuple(
    timedelta(seconds=s) for s in (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
)
#: a mail being sent is not taken by another sender for so long
LEASE = timedelta(minutes=5)
BATCH = 50
TIMEOUT_S = 10
log = logs.get("hub.mail")


def queue(
    session: Session,
    *,
    recipients: list[str],
    subject: str,
    body: str,
    seal_with: str | None = None,
) -> None:
    """One mail to each of ``recipients`` (each sees only their own address); ``seal_with``
    (the hub's secret key) keeps the text encrypted until it is sent."""
    for recipient in sorted(set(recipients)):
        text = body if seal_with is None else _fernet(seal_with).encrypt(body.encode()).decode()
        session.add(
            OutboxMail(
                recipient=recipient,
                subject=subject[:200],
                body=text,
                sealed=seal_with is not None,
            )
        )


@dataclass(frozen=True)
class Sent:
    sent: int = 0
    failed: int = 0
    given_up: int = 0


def send_due(*, engine: Engine, settings: Settings, now: datetime | None = None) -> Sent:
    """Send every mail that is due, on one connection; record each outcome."""
    now = now or utcnow()
    with transaction(engine) as session:
        lock(session, "outbox")  # two senders never take the same mail
        due = session.exec(
            select(OutboxMail)
            .where(
                col(OutboxMail.sent_at).is_(None),
                col(OutboxMail.given_up_at).is_(None),
                col(OutboxMail.next_attempt_at) <= now,
            )
            .order_by(col(OutboxMail.id))
            .limit(BATCH)
        ).all()
        for mail in due:
            mail.next_attempt_at = now + LEASE
            session.add(mail)
        taken = [(m.id, m.recipient, m.subject, _text(m, settings)) for m in due]
    if not taken:
        return Sent()
    outcomes: dict[int, str | None] = {}
    try:
        with _connect(settings) as smtp:
            for number, recipient, subject, body in taken:
                assert number is not None
                try:
                    smtp.send_message(_message(settings, recipient, subject, body))
                    outcomes[number] = None
                except smtplib.SMTPException as exc:
                    outcomes[number] = _reason(exc)
    except (OSError, smtplib.SMTPException) as exc:
        reason = _reason(exc)
        for number, *_ in taken:
            assert number is not None
            outcomes.setdefault(number, reason)
    return _record(engine, outcomes, now)


def _record(engine: Engine, outcomes: dict[int, str | None], now: datetime) -> Sent:
    sent = failed = given_up = 0
    with transaction(engine) as session:
        for number, error in outcomes.items():
            mail = session.get(OutboxMail, number)
            if mail is None:
                continue
            mail.attempts += 1
            if error is None:
                mail.sent_at, mail.last_error = now, None
                if mail.sealed:
                    mail.body = ""
                sent += 1
            elif mail.attempts > len(BACKOFF):
                mail.given_up_at, mail.last_error = now, error
                given_up += 1
                log.warning("mail given up", mail=number, attempts=mail.attempts, error=error)
            else:
                mail.next_attempt_at = now + BACKOFF[mail.attempts - 1]
                mail.last_error = error
                failed += 1
                log.warning("mail not sent", mail=number, attempts=mail.attempts,
                            retry_at=mail.next_attempt_at.isoformat(), error=error)  # fmt: skip
            session.add(mail)
    if sent:
        logs.event(log, "mail sent", count=sent)
    return Sent(sent, failed, given_up)


def _connect(settings: Settings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S)
    try:
        if settings.smtp_starttls:
            # the server's certificate checked (HUB_SMTP_CA_FILE's authorities, else the
            # system's) before anything is said: if it is not trusted, nothing is sent
            smtp.starttls(context=ssl.create_default_context(cafile=settings.smtp_ca_file or None))
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _message(settings: Settings, recipient: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body.replace(HUB_LINK, settings.issuer.rstrip("/")))
    return message


def _text(mail: OutboxMail, settings: Settings) -> str:
    if not mail.sealed:
        return mail.body
    try:
        return _fernet(settings.secret()).decrypt(mail.body.encode()).decode()
    except InvalidToken:
        return "(This message could not be read with this HUB_SECRET_KEY.)"


def _fernet(secret: str) -> Fernet:
    return derived_keys.fernet(secret, "outbox")


def _reason(exc: BaseException) -> str:
    """What went wrong, for the log and the row: the error's kind and the server's words,
    never an address or the mail."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.smtp_code}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


class Sender:
    """``send_due`` every ``interval_s`` while ``hub serve`` runs, in a worker thread; a run that
    fails (the database away) is logged, and the next one tried."""

    def __init__(self, *, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings

    async def run(self) -> None:
        while True:
            await anyio.sleep(self.settings.smtp_send_interval_s)
            try:
                await anyio.to_thread.run_sync(self.once)
            except Exception as exc:
                if not database.unavailable(exc):
                    raise
                log.warning("mail postponed: the database cannot be reached")

    def once(self) -> Sent:
        return send_due(engine=self.engine, settings=self.settings)
