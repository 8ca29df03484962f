"""The hub's own side: its signed metadata at /saml/metadata, its keys (made and kept in the
database, rotated with an overlap), and the assertion consumer service's door."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from identity.app import create_app
from identity.patrons.connectors.saml import Refused, keys, toolkit
from identity.patrons.connectors.saml.provider import ServiceProvider
from identity.security import derived_keys
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import SamlKey, utcnow
from tests.conftest import SECRET
from tests.identity.connectors.saml.conftest import ISSUER, Keys, Library, sp_settings
from tests.identity.connectors.saml.idp import IdentityProvider

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def certificates(document: bytes, use: str) -> list[str]:
    root = ElementTree.fromstring(document)
    return [
        "".join((c.text or "").split())
        for kd in root.iter(f"{MD}KeyDescriptor")
        if kd.get("use") == use
        for c in kd.iter(f"{DS}X509Certificate")
    ]


def pem_body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if "-----" not in line)


def signed_by(document: bytes, certificate_pem: str, tmp_path: Path) -> bool:
    cert = tmp_path / "signer.crt"
    cert.write_text(certificate_pem)
    return toolkit.verify_signature(
        document,
        cert_file=str(cert),
        node_name="urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
        node_id=ElementTree.fromstring(document).get("ID"),
        xmlsec1=toolkit.xmlsec1(),
    )


@pytest.fixture
def client(engine: Engine, database_url: str, saml_keys: Keys) -> Iterator[TestClient]:
    with TestClient(create_app(sp_settings(database_url, saml_keys))) as served:
        yield served


def test_the_metadata_describes_the_service_provider_and_is_signed(
    client: TestClient, saml_keys: Keys, tmp_path: Path
) -> None:
    answer = client.get("/saml/metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/samlmetadata+xml"
    root = ElementTree.fromstring(answer.content)
    assert root.get("entityID") == f"{ISSUER}/saml/metadata"
    assert root.get("validUntil")
    sp = root.find(f"{MD}SPSSODescriptor")
    assert sp is not None
    assert (sp.get("AuthnRequestsSigned"), sp.get("WantAssertionsSigned")) == ("true", "true")
    acs = sp.find(f"{MD}AssertionConsumerService")
    assert acs is not None and acs.get("Location") == f"{ISSUER}/saml/acs"
    assert acs.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    sp_cert = pem_body(saml_keys.sp.cert_pem)
    assert certificates(answer.content, "signing") == [sp_cert]
    assert certificates(answer.content, "encryption") == [sp_cert]
    requested = {a.get("Name") for a in sp.iter(f"{MD}RequestedAttribute")}
    assert "urn:oasis:names:tc:SAML:attribute:subject-id" in requested
    assert "urn:oid:1.3.6.1.4.1.5923.1.1.1.9" in requested  # eduPersonScopedAffiliation
    assert f"{ISSUER}/privacy".encode() in answer.content  # the REFEDS categories ask for it
    assert signed_by(answer.content, saml_keys.sp.cert_pem, tmp_path)
    assert not signed_by(answer.content, saml_keys.rogue.cert_pem, tmp_path)


def test_the_acs_takes_one_answer_for_a_sign_in_that_is_pending(client: TestClient) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in ("", "SAMLResponse=", "SAMLResponse=PD94&SAMLResponse=PD95"):
        answer = client.post("/saml/acs", content=body, headers=form)
        assert answer.status_code == 400
        assert "Sign-in did not work" in answer.text
    answer = client.post("/saml/acs", data={"SAMLResponse": "PD94", "RelayState": "x"})
    assert answer.status_code == 400
    assert "This sign-in cannot be finished" in answer.text
    assert "It has expired, was already used" in answer.text


def db_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, issuer=ISSUER, secret_key=SECRET)


def test_without_key_files_the_hub_makes_its_keys_and_rotates_them_with_an_overlap(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    settings = db_settings(database_url)
    provider = ServiceProvider(settings=settings, engine=engine)
    first = provider.metadata()
    [signing] = certificates(first, "signing")
    [encryption] = certificates(first, "encryption")
    assert signing != encryption  # a pair of its own for each use
    with Session(engine) as session:
        (old_signing, old_encryption) = sorted(keys.rows(session), key=lambda r: r.use)[::-1]
    assert signed_by(first, old_signing.certificate, tmp_path)
    with transaction(engine) as session:
        use_from = keys.rotate(
            session=session, settings=settings, actor="test", announce=timedelta(days=14)
        )
        with pytest.raises(ValueError, match="already announced"):
            keys.rotate(session=session, settings=settings, actor="test", announce=timedelta(0))
    # the next pair is published at once, beside the pair in use, which still signs
    announced = ServiceProvider(settings=settings, engine=engine).metadata()
    assert len(certificates(announced, "signing")) == 2
    assert len(certificates(announced, "encryption")) == 2
    assert signed_by(announced, old_signing.certificate, tmp_path)
    with Session(engine) as session:
        rows = keys.rows(session)
    new_encryption = next(
        r
        for r in rows
        if r.use == "encryption" and r is not old_encryption and r.kid != old_encryption.kid
    )
    later = keys.roles(rows, use_from + timedelta(days=1))
    assert later is not None
    assert later.encryption.kid == new_encryption.kid
    assert later.state(next(r for r in rows if r.kid == old_encryption.kid)).startswith(
        "replaced, decrypts until"
    )
    much_later = keys.roles(rows, use_from + timedelta(days=15))
    assert much_later is not None
    assert much_later.state(next(r for r in rows if r.kid == old_encryption.kid)) == "retired"


def add_pair(engine: Engine, *, created: timedelta, used: timedelta) -> str:
    """A pair made ``created`` ago and in use from ``used`` ago; its encryption certificate."""
    made = ""
    with transaction(engine) as session:
        for use in keys.USES:
            private, certificate = keys.generate("hub.example.org")
            encrypted = derived_keys.fernet(SECRET, keys.PURPOSE).encrypt(private.encode())
            session.add(
                SamlKey(
                    kid=f"{use}-{created.days}",
                    use=use,
                    certificate=certificate,
                    private_key_encrypted=encrypted.decode(),
                    created_at=utcnow() - created,
                    use_from=utcnow() - used,
                )
            )
            made = certificate if use == "encryption" else made
    return made


@pytest.mark.parametrize(("replaced_days_ago", "decrypts"), [(3, True), (8, False)])
def test_a_replaced_key_decrypts_for_as_long_as_its_successor_was_announced(
    engine: Engine,
    database_url: str,
    saml_keys: Keys,
    library: Library,
    replaced_days_ago: int,
    decrypts: bool,
) -> None:
    """The new pair was announced 7 days before use: an IdP that has not fetched the metadata
    since may encrypt to the old key for 7 more days."""
    settings = db_settings(database_url)
    old = add_pair(engine, created=timedelta(days=30), used=timedelta(days=30))
    add_pair(
        engine,
        created=timedelta(days=7 + replaced_days_ago),
        used=timedelta(days=replaced_days_ago),
    )
    provider = ServiceProvider(settings=settings, engine=engine)
    idp = IdentityProvider(
        "https://idp.uni.test/idp/shibboleth",
        saml_keys.idp,
        ["uni.test"],
        provider.metadata().decode(),
    )
    url, request_id = provider.begin(library(), "pending-1")
    asked: dict[str, Any] = {
        "saml_response": idp.respond(url, encrypt_to=old),
        "relay_state": "pending-1",
        "expected_request_id": request_id,
        "library": library(),
    }
    if decrypts:
        assert provider.finish(**asked).patron_id == "a1b2c3@uni.test"
    else:
        with pytest.raises(Refused) as caught:
            provider.finish(**asked)
        assert caught.value.reason == "undecryptable"


def test_an_idp_may_encrypt_to_the_announced_key_at_once(
    engine: Engine, database_url: str, saml_keys: Keys, library: Library
) -> None:
    settings = db_settings(database_url)
    add_pair(engine, created=timedelta(days=30), used=timedelta(days=30))
    with transaction(engine) as session:
        keys.rotate(session=session, settings=settings, actor="test", announce=timedelta(days=14))
    provider = ServiceProvider(settings=settings, engine=engine)
    metadata = provider.metadata()
    announced = next(k for k in provider.keys_in_use().upcoming_encryption)
    assert pem_body(announced.certificate) in certificates(metadata, "encryption")
    idp = IdentityProvider(
        "https://idp.uni.test/idp/shibboleth", saml_keys.idp, ["uni.test"], metadata.decode()
    )
    url, request_id = provider.begin(library(), "pending-1")
    patron = provider.finish(
        saml_response=idp.respond(url, encrypt_to=announced.certificate),
        relay_state="pending-1",
        expected_request_id=request_id,
        library=library(),
    )
    assert patron.patron_id == "a1b2c3@uni.test"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"saml_key_file": "/k.pem"}, "HUB_SAML_KEY_FILE and HUB_SAML_CERT_FILE go together"),
        (
            {"saml_next_key_file": "/n.pem", "saml_next_cert_file": "/n.crt"},
            "need HUB_SAML_KEY_FILE",
        ),
        ({"saml_metadata_refresh_s": 30}, "between 60 s and 7 days"),
    ],
)
def test_the_saml_settings_say_what_is_wrong(files: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**files)  # type: ignore[arg-type]
