"""Email over STARTTLS (``HUB_SMTP_STARTTLS``, on unless turned off) against a real SMTP server
(aiosmtpd) that requires it, with certificates made here by a test CA: the mail goes once the
server's certificate is trusted, through ``HUB_SMTP_CA_FILE`` or the process's default verify
paths (``SSL_CERT_FILE``); a server whose certificate is not trusted, or that offers no STARTTLS,
gets nothing, not even in clear, and the mail waits in the outbox for a later try."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from identity.admin import outbox
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import OutboxMail, utcnow
from tests import certificates
from tests.conftest import SECRET
from tests.identity.admin.mailbox import Mailbox, body_of, mailbox

__all__ = ["mailbox"]  # a server without STARTTLS


@dataclass(frozen=True)
class Issued:
    ca: Path  # the CA's certificate (PEM)
    server: ssl.SSLContext  # a mail server's, with a certificate of that CA for 127.0.0.1


def issue(root: Path, name: str) -> Issued:
    """A test CA called ``name``, and a certificate it signs for 127.0.0.1 and localhost."""
    folder = certificates.issue(root / name.replace(" ", "-"), name)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    return Issued(ca=folder / "ca.pem", server=context)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    return issue(tmp_path_factory.mktemp("tls"), "Hub Test Mail CA")


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    return issue(tmp_path_factory.mktemp("tls"), "Someone Else's CA")


def serving(**options: object) -> Iterator[Mailbox]:
    box = Mailbox(**options)
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()


@pytest.fixture(scope="module")
def tls_only(ca: Issued) -> Iterator[Mailbox]:
    """A mail server that takes mail only after STARTTLS, with a certificate of ``ca``."""
    yield from serving(tls_context=ca.server, require_starttls=True)


@pytest.fixture(scope="module")
def impostor(other_ca: Issued) -> Iterator[Mailbox]:
    """A mail server offering STARTTLS with a certificate of another CA, and taking mail in clear
    as readily: anything the hub said without TLS would arrive."""
    yield from serving(tls_context=other_ca.server, require_starttls=False)


def mail_settings(box: Mailbox, ca_file: Path | None = None) -> Settings:
    """STARTTLS as by default, checked against ``ca_file`` if there is one."""
    return Settings(database_url="sqlite://", secret_key=SECRET, smtp_host="127.0.0.1",
                    smtp_port=box.port, smtp_from="hub@hub.example",
                    smtp_ca_file=str(ca_file or ""))  # fmt: skip


def queue_one(engine: Engine, body: str = "Proposal 7 waits for you.") -> None:
    with transaction(engine) as session:
        outbox.queue(session, recipients=["ann@monash.example"], subject="A proposal", body=body)


def the_mail(engine: Engine) -> OutboxMail:
    with Session(engine) as session:
        return session.exec(select(OutboxMail)).one()


@pytest.mark.parametrize("trusted_by", ["HUB_SMTP_CA_FILE", "SSL_CERT_FILE"])
def test_a_mail_goes_over_starttls_to_a_server_whose_certificate_is_trusted(
    engine: Engine, tls_only: Mailbox, ca: Issued, trusted_by: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    tls_only.clear()
    if trusted_by == "SSL_CERT_FILE":  # the process's default verify paths (OpenSSL's)
        monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca))
        settings = mail_settings(tls_only)
    else:
        settings = mail_settings(tls_only, ca.ca)
    assert settings.smtp_starttls  # the default
    queue_one(engine)
    assert outbox.send_due(engine=engine, settings=settings) == outbox.Sent(sent=1)
    message = tls_only.wait_for("ann@monash.example", "A proposal")
    assert "Proposal 7 waits for you." in body_of(message)
    assert tls_only.began_over_tls == [True]
    assert the_mail(engine).sent_at is not None


def test_a_server_whose_certificate_is_not_trusted_gets_nothing_and_the_mail_waits(
    engine: Engine, impostor: Mailbox, tls_only: Mailbox, ca: Issued
) -> None:
    impostor.clear()
    tls_only.clear()
    queue_one(engine, "The link: {hub}/admin/password/secret-token")
    now = utcnow()
    settings = mail_settings(impostor, ca.ca)
    assert outbox.send_due(engine=engine, settings=settings, now=now) == outbox.Sent(failed=1)
    assert (impostor.messages, impostor.began_over_tls) == ([], [])  # not even in clear
    waiting = the_mail(engine)
    assert (waiting.sent_at, waiting.given_up_at, waiting.attempts) == (None, None, 1)
    assert waiting.last_error is not None
    assert waiting.last_error.startswith("SSLCertVerificationError: ")
    assert "certificate verify failed" in waiting.last_error

    # the system's CAs do not know the test CA either
    later = now + outbox.BACKOFF[0]
    assert outbox.send_due(engine=engine, settings=mail_settings(impostor), now=later) == (
        outbox.Sent(failed=1)
    )
    assert impostor.began_over_tls == []
    # tried again later, at a server the hub trusts, it goes
    latest = later + outbox.BACKOFF[1]
    trusted = mail_settings(tls_only, ca.ca)
    assert outbox.send_due(engine=engine, settings=trusted, now=latest) == outbox.Sent(sent=1)
    assert tls_only.began_over_tls == [True]
    assert "secret-token" in body_of(tls_only.wait_for("ann@monash.example"))


def test_a_server_offering_no_starttls_gets_nothing(engine: Engine, mailbox: Mailbox) -> None:
    mailbox.clear()
    queue_one(engine)
    result = outbox.send_due(engine=engine, settings=mail_settings(mailbox))
    assert result == outbox.Sent(failed=1)
    assert (mailbox.messages, mailbox.began_over_tls) == ([], [])
    assert the_mail(engine).last_error == (
        "SMTPNotSupportedError: STARTTLS extension not supported by server."
    )


def test_a_ca_file_that_is_not_one_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    for path in (tmp_path / "ca.pem", tmp_path / "missing.pem"):
        with pytest.raises(ValidationError, match="HUB_SMTP_CA_FILE must be a file of PEM"):
            Settings(smtp_ca_file=str(path))
