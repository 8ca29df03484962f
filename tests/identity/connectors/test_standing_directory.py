"""Standing and directories (slapd): a directory as a library's standing source (fines and flags
in attributes the library names), and a directory library's own sign-in, which proves
membership and expiry but says nothing of fines or flags unless its standing source does."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from sqlalchemy import create_engine

import policies
from identity.agreements import publishing
from identity.patrons import standing
from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.gates import Gates
from identity.store.database import transaction
from policies.model import LIBRARY
from tests.identity.connectors.ils import PASSWORD, PASSWORD_ENV, USER, Ils, Patron
from tests.identity.connectors.ldap_libraries import CATEGORIES, settings
from tests.identity.connectors.slapd import ADA, OWES, Slapd
from tests.identity.oauth.conftest import LiveHub

OIDC = {"kind": "oidc", "issuer": "https://login.uni.example", "client_id": "hub"}


def federated(slapd: Slapd, **changes: Any) -> policies.Library:
    """A university whose provider signs its patrons in, with the directory as its standing
    source, matched on the ``uid`` its provider releases."""
    source = settings(slapd, fines="employeeNumber", flags="employeeType", match="uid")
    source.update(changes)
    return LIBRARY.validate_python(
        {"id": "uni", "name": "Uni", "categories": CATEGORIES, "connector": OIDC,
         "standing": source}
    )  # fmt: skip


def ask(library: policies.Library, card: str) -> Any:
    gates = Gates(queue=4, wait_s=5)
    engine = create_engine("sqlite://")

    async def run() -> Any:
        return await standing.ask(gates, engine, library, card)

    try:
        return anyio.run(run)
    finally:
        engine.dispose()


def test_a_directory_gives_fines_flags_and_expiry(slapd: Slapd) -> None:
    library = federated(slapd)
    owes = ask(library, OWES.uid)
    assert owes.library == "uni" and owes.card == "owes"
    assert owes.fines == Decimal("25.50") and owes.flags == {"charge_denied"}
    assert owes.expires == date(2099, 12, 31)
    ada = ask(library, ADA.uid)
    assert ada.fines == 0 and ada.flags == frozenset()
    assert ask(library, "nobody-here") is None


def test_a_directory_that_cannot_be_asked_names_the_library_not_the_source(
    slapd: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = federated(slapd, url="ldap://127.0.0.1:9", tls_ca=None, timeout_s=0.5)
    with pytest.raises(HomeLibraryUnavailable) as refused:
        ask(library, ADA.uid)
    assert refused.value.library == "uni" and "standing source" in refused.value.reason


def test_a_directory_source_must_be_searched_with_a_service_account(slapd: Slapd) -> None:
    source = settings(slapd, search=None, user_dn="uid={card},dc=example,dc=edu", match="uid")
    entry = {"id": "uni", "name": "Uni", "connector": OIDC, "standing": source}
    text = yaml.safe_dump({"libraries": [entry]}, sort_keys=False)
    with pytest.raises(policies.InvalidAgreements) as refused:
        policies.load_sources([("uni.yaml", text)])
    [problem] = refused.value.problems
    lines = text.splitlines()
    at = next(n for n, line in enumerate(lines, start=1) if line.strip() == "standing:")
    assert problem.file == "uni.yaml" and problem.line == at + 1  # the source's first key
    assert "library uni: standing: a standing source is searched" in problem.message


# --- a directory library's own sign-in ---------------------------------------------------------


def publish(live_hub: LiveHub, tmp_path: Path, slapd: Slapd, standing_source: Any) -> None:
    library: dict[str, Any] = {"id": "uni", "name": "Example University Library",
                               "categories": CATEGORIES, "connector": settings(slapd)}  # fmt: skip
    if standing_source is not None:
        library["standing"] = standing_source
    agreement = {"id": "monash-uni", "kind": "bilateral", "lender": "monash",
                 "borrowers_from": ["uni"], "categories": ["undergraduate", "staff"],
                 "standing": {"max_fines": 10.0},
                 "terms": {"max_items": 4, "loan_days": 21}}  # fmt: skip
    extra = tmp_path / "uni.yaml"
    extra.write_text(yaml.safe_dump({"libraries": [library], "agreements": [agreement]}))
    examples = Path(policies.__file__).parent / "examples"
    sources = [*policies.read(examples), (str(extra), extra.read_text())]
    with transaction(live_hub.engine) as session:
        publishing.publish(session=session, sources=sources, actor="test", note="uni")


def sign_in(live_hub: LiveHub) -> dict[str, Any]:
    rp = live_hub.add_rp("monash")
    rp.scope = "openid membership borrowing"
    back = live_hub.browser().sign_in(
        rp.authorization_url(), card="ada", pin=ADA.password, library="uni"
    )
    assert back.status_code == 302, back.text
    claims: dict[str, Any] = rp.verify(rp.exchange(back.headers["location"])["id_token"])
    return claims


def test_a_directory_sign_in_says_nothing_of_fines(
    live_hub: LiveHub, slapd: Slapd, tmp_path: Path
) -> None:
    publish(live_hub, tmp_path, slapd, None)
    claims = sign_in(live_hub)
    assert claims["standing"] == "unknown" and claims["standing_from"] == "none"
    assert claims["card_expires"] == "2099-12-31"  # the directory said that much
    assert claims["borrowing"]["eligible"] is True  # no agreement requires a known standing


def test_a_directory_library_with_an_ils_as_standing_source(
    live_hub: LiveHub, slapd: Slapd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    ils = Ils({"ada": Patron("ada", "-", "Ada Lovelace", fines="12.00")}).start()
    try:
        source = {"kind": "sip2", "host": "127.0.0.1", "port": ils.port, "institution": "sipu",
                  "user": USER, "password_env": PASSWORD_ENV, "match": "uid"}  # fmt: skip
        publish(live_hub, tmp_path, slapd, source)
        claims = sign_in(live_hub)
    finally:
        ils.stop()
    assert claims["standing"] == "good" and claims["standing_from"] == "standing_source"
    assert claims["borrowing"]["eligible"] is False
    assert [r["code"] for r in claims["borrowing"]["reasons"]] == ["fines_over_limit"]
