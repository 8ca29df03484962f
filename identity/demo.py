"""The demo network (``hub demo``): the example agreements, four patrons and two clients per
library, in an SQLite database that is created once and reused.

Demo mode is insecure by design: it runs on the development secret, and client secrets are
derived from it (so that a reused database can show its credentials again). Never point it at
a production database.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlmodel import Session, select

import policies
from identity.admin import accounts
from identity.agreements import publishing
from identity.oauth import registration
from identity.patrons import registry_import
from identity.settings import DEVELOPMENT_SECRET
from identity.store.database import transaction
from identity.store.models import AdminAccount, AuditEvent, OAuthClient

EXAMPLES = Path(policies.__file__).parent / "examples"
ACTOR = "hub:demo"
#: the demo's administrators' emails end so (their changes are the demo's too)
DEMO_ADMINS = "@demo.hub"
#: standing shown to the person trying the demo, name, flags, days to expiry, fines owed
PEOPLE = [
    ("good standing", "Avery Good", (), 365, "0.00"),
    ("blocked (charge_denied)", "Blake Blocked", ("charge_denied",), 365, "0.00"),
    ("card expired 30 days ago", "Casey Expired", (), -30, "0.00"),
    ("owes 25.50, over the 10.00 limit", "Devon Owes", (), 365, "25.50"),
]


@dataclass(frozen=True)
class DemoPatron:
    library: str
    standing: str
    row: registry_import.Row


@dataclass(frozen=True)
class DemoClient:
    library: str
    kind: str
    client_id: str
    client_secret: str


def demo_patrons(library: policies.Library, today: date) -> list[DemoPatron]:
    """Four patrons for a registry library, undergraduates where the library has them (so the
    consortium decides); the PIN is the card's last four digits."""
    codes = library.categories
    code = next((c for c, hub in codes.items() if hub == "undergraduate"), next(iter(codes)))
    out = []
    for number, (standing, name, flags, days, fines) in enumerate(PEOPLE, start=1):
        card = f"{library.card_prefixes[0]}{number:010d}"
        row = registry_import.Row(
            line=number,
            card=card,
            name=name,
            category=code,
            pin=card[-4:],
            pin_hash=None,
            expires=today + timedelta(days=days),
            fines=Decimal(fines),
            flags=flags,
        )
        out.append(DemoPatron(library.id, standing, row))
    return out


def build(
    *, engine: Engine, issuer: str, today: date | None = None
) -> tuple[list[DemoPatron], list[DemoClient]]:
    """Publish the example network, import the demo patrons and register the demo clients (or
    find them there already). Returns what to print."""
    today = today or date.today()
    sources = [(Path(name).name, text) for name, text in policies.read(EXAMPLES)]
    with transaction(engine) as session:
        publishing.publish(session=session, sources=sources, actor=ACTOR, note="hub demo")
    everyone: list[DemoPatron] = []
    made: list[DemoClient] = []
    for library in policies.load(EXAMPLES).libraries.values():
        people = demo_patrons(library, today) if library.connector.kind == "registry" else []
        everyone.extend(people)
        rows = [p.row for p in people]
        hashes = registry_import.hash_pins(rows)
        with transaction(engine) as session:
            if rows:
                registry_import.import_rows(
                    session=session, library=library.id, rows=rows, hashes=hashes, actor=ACTOR
                )
            for kind in ("rp", "partner"):
                client = DemoClient(
                    library.id, kind, f"demo-{library.id}-{kind}", client_secret(library.id, kind)
                )
                made.append(client)
                stored = session.get(OAuthClient, client.client_id)
                if stored is not None and kind == "rp":  # served on another port this time
                    stored.redirect_uris = [f"{issuer}/demo/callback"]
                    stored.post_logout_redirect_uris = [f"{issuer}/demo"]
                if stored is None:
                    registration.add_client(
                        session=session,
                        library=library.id,
                        kind=kind,
                        redirect_uris=[f"{issuer}/demo/callback"] if kind == "rp" else [],
                        post_logout_redirect_uris=[f"{issuer}/demo"] if kind == "rp" else [],
                        actor=ACTOR,
                        client_id=client.client_id,
                        secret=client.client_secret,
                    )
    return everyone, made


@dataclass(frozen=True)
class DemoAdmin:
    email: str
    library: str | None
    password: str


def admins(*, engine: Engine) -> list[DemoAdmin]:
    """A consortium administrator and one administrator per library (or find them there
    already), with passwords derived from the public development key, like the clients'."""
    first = f"consortium{DEMO_ADMINS}"
    everyone = [DemoAdmin(first, None, admin_password(first))]
    for library in policies.load(EXAMPLES).libraries:
        email = f"{library}{DEMO_ADMINS}"
        everyone.append(DemoAdmin(email, library, admin_password(email)))
    with transaction(engine) as session:
        for admin in everyone:
            found = session.exec(select(AdminAccount).where(AdminAccount.email == admin.email))
            if found.first() is None:
                accounts.add_account(session=session, email=admin.email, library=admin.library,
                                     actor=ACTOR, password=admin.password)  # fmt: skip
    return everyone


def admin_password(email: str) -> str:
    digest = hmac.new(DEVELOPMENT_SECRET.encode(), f"demo admin {email}".encode(), "sha256")
    return digest.hexdigest()[:20]


def client_secret(library: str, kind: str) -> str:
    digest = hmac.new(
        DEVELOPMENT_SECRET.encode(), f"demo {library} {kind}".encode(), hashlib.sha256
    )
    return digest.hexdigest()[:32]


def foreign(engine: Engine) -> bool:
    """Whether the database holds anything the demo did not put there (a real hub's data)."""
    if "audit_event" not in inspect(engine).get_table_names():
        return False
    with Session(engine) as session:
        actors = session.exec(select(AuditEvent.actor).distinct()).all()
    ours = (ACTOR, "hub:startup")
    return any(a not in ours and not a.endswith(DEMO_ADMINS) for a in actors)
