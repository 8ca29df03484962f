"""Email to administrators, through a real SMTP server (aiosmtpd): a proposal tells the awaited
party's administrators, a decision tells the proposer, a suspension tells both parties. The mail
is queued with the change and sent afterwards: a mail server that is down costs the
administrator nothing (the change is made, the mail is retried later and arrives)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from identity.admin import outbox
from identity.settings import Settings
from identity.store.models import OutboxMail, utcnow
from tests.conftest import SECRET, free_port
from tests.identity.admin.conftest import AddAdmin
from tests.identity.admin.mailbox import Mailbox, body_of, mailbox
from tests.identity.admin.test_api import NEW_BILATERAL, SUSPENSION, bearer, token

__all__ = ["mailbox"]


@pytest.fixture
def settings(database_url: str, mailbox: Mailbox) -> Settings:
    mailbox.clear()
    return Settings(database_url=database_url, secret_key=SECRET, issuer="https://hub.example",
                    smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_starttls=False,
                    smtp_from="hub@hub.example", smtp_send_interval_s=3600)  # fmt: skip


def send(settings: Settings, engine: Engine) -> outbox.Sent:
    return outbox.send_due(engine=engine, settings=settings)


def test_a_proposal_mails_the_partner_and_its_decision_mails_the_proposer(
    client: TestClient, add_admin: AddAdmin, settings: Settings, published: Engine,
    mailbox: Mailbox,
) -> None:  # fmt: skip
    ann = token(client, add_admin, "ann@monash.example", "monash")
    lee = token(client, add_admin, "lee@latrobe.example", "latrobe")
    add_admin("other@rmit.example", "rmit")  # not a party: told nothing
    made = client.post("/api/v1/admin/agreements", json={"yaml": NEW_BILATERAL},
                       headers=bearer(ann))  # fmt: skip
    assert made.status_code == 202, made.text
    number = made.json()["proposal"]["id"]

    assert send(settings, published) == outbox.Sent(sent=1)
    waiting = mailbox.wait_for("lee@latrobe.example")
    assert waiting["Subject"] == (
        f"Proposal {number} waits for your approval: agreement monash-latrobe-alumni"
    )
    assert waiting["From"] == "hub@hub.example"
    assert "monash proposes to create agreement monash-latrobe-alumni." in body_of(waiting)
    assert f"https://hub.example/admin/proposals/{number}" in body_of(waiting)
    assert mailbox.summary() == [("lee@latrobe.example", waiting["Subject"])]

    approved = client.post(f"/api/v1/admin/proposals/{number}/approve", headers=bearer(lee))
    assert approved.status_code == 200, approved.text
    send(settings, published)
    told = mailbox.wait_for("ann@monash.example")
    assert told["Subject"] == f"Proposal {number} published: agreement monash-latrobe-alumni"
    assert "was approved and is published as version 2" in body_of(told)


def test_a_rejection_mails_the_proposer(
    client: TestClient, add_admin: AddAdmin, settings: Settings, published: Engine,
    mailbox: Mailbox,
) -> None:  # fmt: skip
    ann = token(client, add_admin, "ann@monash.example", "monash")
    lee = token(client, add_admin, "lee@latrobe.example", "latrobe")
    made = client.post("/api/v1/admin/agreements", json={"yaml": NEW_BILATERAL},
                       headers=bearer(ann))  # fmt: skip
    number = made.json()["proposal"]["id"]
    reason = {"reason": "Alumni borrowing is not in our plan this year"}
    rejected = client.post(f"/api/v1/admin/proposals/{number}/reject", json=reason,
                           headers=bearer(lee))  # fmt: skip
    assert rejected.status_code == 200, rejected.text
    send(settings, published)
    told = mailbox.wait_for("ann@monash.example")
    assert told["Subject"] == f"Proposal {number} rejected: agreement monash-latrobe-alumni"
    assert "was rejected by admin:lee@latrobe.example" in body_of(told)


def test_a_suspension_mails_both_parties_even_after_the_mail_server_was_down(
    client: TestClient, add_admin: AddAdmin, settings: Settings, published: Engine,
    mailbox: Mailbox,
) -> None:  # fmt: skip
    ann = token(client, add_admin, "ann@monash.example", "monash")
    add_admin("val@vu.example", "vu")
    down = settings.model_copy(update={"smtp_port": free_port()})  # nothing listens there
    made = client.post("/api/v1/admin/agreements", json={"yaml": SUSPENSION}, headers=bearer(ann))
    assert made.status_code == 201, made.text  # in force at once, mail or no mail
    assert send(down, published) == outbox.Sent(failed=2)
    with Session(published) as session:
        waiting = session.exec(select(OutboxMail)).all()
    assert {(m.recipient, m.attempts, m.sent_at) for m in waiting} == {
        ("ann@monash.example", 1, None),
        ("val@vu.example", 1, None),
    }
    assert all("ConnectionRefusedError" in (m.last_error or "") for m in waiting)
    assert send(settings, published) == outbox.Sent()  # not due again yet
    later = utcnow() + timedelta(minutes=1)
    assert outbox.send_due(engine=published, settings=settings, now=later) == outbox.Sent(sent=2)
    for address in ("ann@monash.example", "val@vu.example"):
        told = mailbox.wait_for(address)
        assert told["Subject"] == "monash suspends lending: monash-suspends-vu"
        assert "monash suspends its lending to the patrons of vu." in body_of(told)
        assert "Reason: Unreturned loans under review" in body_of(told)
    assert send(settings, published) == outbox.Sent()  # each mail once


def test_a_mail_is_given_up_after_its_last_try(settings: Settings, published: Engine) -> None:
    with Session(published) as session:
        outbox.queue(session, recipients=["x@vu.example"], subject="s", body="b")
        session.commit()
    closed = settings.model_copy(update={"smtp_port": free_port()})
    now = utcnow()
    for _ in outbox.BACKOFF:
        assert outbox.send_due(engine=published, settings=closed, now=now).failed == 1
        now += timedelta(days=1)
    assert outbox.send_due(engine=published, settings=closed, now=now) == outbox.Sent(given_up=1)
    assert outbox.send_due(engine=published, settings=closed, now=now + timedelta(days=1)) == (
        outbox.Sent()
    )


def test_a_mail_server_needs_a_sender_address() -> None:
    with pytest.raises(ValueError, match="HUB_SMTP_HOST needs HUB_SMTP_FROM"):
        Settings(smtp_host="mail.example")
