"""``hub admin add``: a one-time password printed once and kept only as a hash."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from identity.security import passwords
from identity.store.models import AdminAccount, AuditEvent
from tests.conftest import EXAMPLES, SECRET, Hub, run_hub


def dump(engine: Engine) -> str:
    with engine.connect() as connection:
        return " ".join(
            str(row)
            for table in ("admin_account", "audit_event")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        )


def value(output: str, label: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith(f"{label}:")]
    return line.split(":", 1)[1].strip()


def test_add_prints_the_password_once_and_keeps_only_a_hash(hub: Hub, engine: Engine) -> None:
    assert hub("agreements", "load", str(EXAMPLES)).returncode == 0
    made = hub("admin", "add", "--email", "Ada@RMIT.example", "--library", "rmit")
    assert made.returncode == 0, made.stderr
    password = value(made.stdout, "password")
    assert len(password) >= 20
    assert value(made.stdout, "email") == "ada@rmit.example"
    assert value(made.stdout, "library") == "rmit"
    assert "Shown only now" in made.stderr
    assert password not in dump(engine)
    with Session(engine) as session:
        account = session.exec(select(AdminAccount)).one()
        assert account.password_hash.startswith("$argon2id$")
        assert passwords.verify(password, account.password_hash)[0]
        assert account.totp_secret_encrypted is None
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "admin.add")).one()
    assert (event.subject, event.after) == (
        "admin:ada@rmit.example",
        {"email": "ada@rmit.example", "library": "rmit", "totp": False},
    )
    assert event.actor.startswith("cli:")
    other = hub("admin", "add", "--email", "root@consortium.example")
    assert other.returncode == 0, other.stderr
    assert value(other.stdout, "library") == "(consortium administrator)"
    assert value(other.stdout, "password") != password


@pytest.mark.db
def test_add_refuses_what_it_cannot_make(hub: Hub, engine: Engine) -> None:
    assert hub("agreements", "load", str(EXAMPLES)).returncode == 0
    unknown = hub("admin", "add", "--email", "ada@example.org", "--library", "nowhere")
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "No library 'nowhere' in the published agreements.\n",
    )
    assert hub("admin", "add", "--email", "ada@example.org").returncode == 0
    again = hub("admin", "add", "--email", "ADA@example.org")
    assert again.returncode == 1
    assert "There is already an administrator ada@example.org; nothing added." in again.stderr
    bad = hub("admin", "add", "--email", "not-an-address")
    assert bad.returncode == 1 and "is not an email address" in bad.stderr
    with Session(engine) as session:
        assert len(session.exec(select(AdminAccount)).all()) == 1
        assert (
            len(session.exec(select(AuditEvent).where(AuditEvent.action == "admin.add")).all()) == 1
        )


def test_totp_secret_is_shown_once_and_stored_encrypted(database_url: str, engine: Engine) -> None:
    env = {"HUB_DATABASE_URL": database_url}
    refused = run_hub("admin", "add", "--email", "ada@example.org", "--totp", env=env)
    assert refused.returncode == 1 and "HUB_SECRET_KEY is unset" in refused.stderr
    made = run_hub(
        "admin", "add", "--email", "ada@example.org", "--totp",
        env={**env, "HUB_SECRET_KEY": SECRET},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    secret = value(made.stdout, "totp")
    assert value(made.stdout, "totp uri").startswith("otpauth://totp/")
    assert secret not in dump(engine) and value(made.stdout, "password") not in dump(engine)
    with Session(engine) as session:
        account = session.exec(select(AdminAccount)).one()
    assert account.totp_secret_encrypted is not None
