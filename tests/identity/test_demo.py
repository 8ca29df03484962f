"""``hub demo``: the demo network, and what a lender would decide for each demo patron."""

from __future__ import annotations

import html
import signal
import subprocess
from datetime import date
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

import policies
from identity import demo
from identity.agreements import publishing
from identity.oauth import registration
from identity.patrons.connectors.registry import RegistryConnector
from identity.settings import Settings
from identity.store.database import make_engine
from identity.store.models import AgreementVersion, OAuthClient, RegistryPatron
from tests.conftest import HUB, free_port, run_hub, wait_for_health
from tests.identity.oauth.browser import Browser
from tests.identity.oauth.conftest import OWES

TODAY = date(2026, 11, 22)
EXPECTED = {  # what monash (a CAVAL lender) decides for rmit's four demo patrons
    "21110000000001": (True, []),
    "21110000000002": (False, ["blocking_flag"]),
    "21110000000003": (False, ["card_expired"]),
    "21110000000004": (False, ["fines_over_limit"]),
}


def test_each_demo_patron_signs_in_and_gets_the_decision_the_demo_promises(engine: Engine) -> None:
    people, made = demo.build(engine=engine, issuer="http://127.0.0.1:8000", today=TODAY)
    assert len(people) == 28 and len(made) == 14
    with Session(engine) as session:
        found = publishing.in_force(session=session)
    assert found is not None
    agreements = found[1]
    registry = RegistryConnector("rmit", engine)
    for person in people:
        if person.library != "rmit":
            continue
        assert person.row.pin is not None
        holder = registry.authenticate(person.row.card, person.row.pin)
        assert holder is not None
        category = agreements.libraries["rmit"].hub_category(holder.category)
        assert category == "undergraduate"
        decision = agreements.decide(
            policies.BorrowRequest(
                lender="monash",
                home_library="rmit",
                category=category,
                on=TODAY,
                fines=holder.fines,
                flags=holder.flags,
                card_expires=holder.expires,
            )
        )
        eligible, codes = EXPECTED[holder.card]
        assert (decision.eligible, [r.code.value for r in decision.reasons]) == (eligible, codes)
    demo.build(engine=engine, issuer="http://127.0.0.1:8001", today=TODAY)  # reused, new port
    with Session(engine) as session:
        versions = session.exec(select(AgreementVersion)).all()
        stored = {c.client_id: c for c in session.exec(select(OAuthClient))}
        patrons_ = session.exec(select(RegistryPatron)).all()
    assert (len(versions), len(stored), len(patrons_)) == (1, 14, 28)
    assert all(registration.secret_matches(stored[c.client_id], c.client_secret) for c in made)
    assert stored["demo-rmit-rp"].redirect_uris == ["http://127.0.0.1:8001/demo/callback"]
    assert not demo.foreign(engine)


def test_hub_demo_serves_and_prints_what_to_try(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "demo.db"
    server = subprocess.Popen(
        [HUB, "demo", "--database", str(database), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = wait_for_health(server, port, within_s=60)
        assert health.json() == {"status": "ok"}
        result = lend_through_the_demo_page(f"http://127.0.0.1:{port}", "monash", OWES)
        home = sign_in_as_demo_admin(f"http://127.0.0.1:{port}", "rmit@demo.hub")
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=20)
    assert f"Demo hub on http://127.0.0.1:{port}" in output
    assert "  rmit       21110000000001  PIN 0001  Avery Good     good standing" in output
    assert "demo-monash-partner" in output
    assert f"http://127.0.0.1:{port}/demo " in output
    password = demo.admin_password("rmit@demo.hub")
    assert f"  rmit@demo.hub            {password}  administrator of rmit" in output
    assert "administrator of <strong>rmit</strong>" in home
    assert not demo.foreign(make_engine(Settings(database_url=f"sqlite:///{database}")))
    assert database.exists()
    # what the person trying the demo sees: the verified claims and the decision, with reasons
    assert "The hub confirmed <strong>Devon Owes</strong> of" in result
    assert '<span class="verdict-no">No</span>' in result
    assert "(fines_over_limit)" in result and '"iss": "http://127.0.0.1:' in result


def lend_through_the_demo_page(issuer: str, lender: str, card: str) -> str:
    """A visitor at ``/demo``: pick the lender, sign in with ``card``, share; the result page."""
    browser = Browser(issuer)
    try:
        start = browser.get("/demo")
        assert start.status_code == 200
        to_hub = browser.submit(start, {"lender": lender})
        assert to_hub.status_code == 303
        login = browser.get(to_hub.headers["location"])
        consent = browser.submit(login, {"card": card, "pin": card[-4:]})
        back = browser.submit(consent, {"decision": "allow"})
        assert back.headers["location"].startswith(f"{issuer}/demo/callback?")
        result = browser.get(back.headers["location"])
        assert result.status_code == 200
        return html.unescape(result.text)
    finally:
        browser.http.close()


def sign_in_as_demo_admin(issuer: str, email: str) -> str:
    """Sign in at ``/admin`` with the printed demo password; the home page."""
    browser = Browser(issuer)
    try:
        form = browser.get("/admin/login")
        signed_in = browser.submit(form, {"email": email, "password": demo.admin_password(email)})
        assert signed_in.status_code == 303, signed_in.text
        return browser.get("/admin").text
    finally:
        browser.http.close()


def test_hub_demo_refuses_a_database_it_did_not_make(tmp_path: Path) -> None:
    real = tmp_path / "real.db"
    run_hub("agreements", "load", str(demo.EXAMPLES), env={"HUB_DATABASE_URL": f"sqlite:///{real}"})
    refused = run_hub("demo", "--database", str(real), "--port", str(free_port()))
    assert refused.returncode == 1
    assert "holds data that hub demo did not make" in refused.stderr
