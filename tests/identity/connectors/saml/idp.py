"""A university's SAML identity provider for the tests, built on pysaml2's server classes
(``saml2.server.Server``), and a federation that signs identity providers' metadata.

The identity provider reads the hub's real authentication request (the URL ``begin`` sends
the browser to) and answers it as an IdP does: signed assertions, optionally encrypted to the
hub's published certificate, with the attributes of a test user. The keyword arguments of
``respond`` make the answers a misbehaving or malicious IdP would send (expired, for another
audience, ...), still signed with the IdP's real key.
"""

from __future__ import annotations

import base64
import secrets
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

with warnings.catch_warnings():  # pysaml2's server imports a cipher mode cryptography moved
    warnings.simplefilter("ignore")
    from saml2 import BINDING_HTTP_REDIRECT, class_name, md, xmldsig
    from saml2.assertion import Policy
    from saml2.config import Config, IdPConfig
    from saml2.metadata import entity_descriptor
    from saml2.s_utils import OtherError, decode_base64_and_inflate, sid
    from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_TRANSIENT, SCM_BEARER, NameID
    from saml2.samlp import STATUS_AUTHN_FAILED, authn_request_from_string
    from saml2.server import Server
    from saml2.sigver import pre_signature_part, security_context

from identity.patrons.connectors.saml import toolkit

AUTHN = {
    "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
}
SIGN_ALG = xmldsig.SIG_RSA_SHA256
DIGEST_ALG = xmldsig.DIGEST_SHA256


@dataclass(frozen=True)
class KeyPair:
    key_file: str
    cert_file: str

    @property
    def cert_pem(self) -> str:
        return Path(self.cert_file).read_text()


def make_keys(directory: Path, name: str, *, bits: int = 2048) -> KeyPair:
    """A key and a self-signed certificate, written to ``directory``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return KeyPair(str(key_file), str(cert_file))


@dataclass(frozen=True)
class User:
    attributes: dict[str, list[str]]


ALICE = User(
    {
        "subject-id": ["a1b2c3@uni.test"],
        "eduPersonPrincipalName": ["alice@uni.test"],
        "eduPersonScopedAffiliation": ["member@uni.test", "staff@uni.test"],
        "displayName": ["Alice Liddell"],
        "mail": ["alice@uni.test"],
    }
)


class _Policy(Policy):  # type: ignore[misc]
    """The IdP's release policy, with the conditions a test asks for."""

    def __init__(
        self, *, lifetime: timedelta, not_before: timedelta, audience: str | None, mds: Any
    ) -> None:
        super().__init__(
            {
                "default": {
                    "lifetime": {"seconds": int(lifetime.total_seconds())},
                    "attribute_restrictions": None,
                    "name_form": NAME_FORMAT_URI,
                }
            },
            mds=mds,
        )
        self.not_before, self.audience = not_before, audience

    def conditions(self, sp_entity_id: str) -> Any:
        made = super().conditions(self.audience or sp_entity_id)
        made.not_before = _at(datetime.now(UTC) + self.not_before)
        return made


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class IdentityProvider:
    """One university's IdP: pysaml2's ``Server`` with its own key."""

    entity_id: str
    keys: KeyPair
    scopes: list[str]
    sp_metadata: str
    server: Any = field(init=False)

    def __post_init__(self) -> None:
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "key_file": self.keys.key_file,
                "cert_file": self.keys.cert_file,
                "signing_algorithm": SIGN_ALG,
                "digest_algorithm": DIGEST_ALG,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (f"{self.entity_id}/sso/redirect", BINDING_HTTP_REDIRECT)
                            ]
                        },
                        "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                        "scope": self.scopes,
                    }
                },
                "metadata": {"inline": [self.sp_metadata]},
            }
        )
        self.server = Server(config=config)
        self.server.sec.crypto = toolkit.backend(toolkit.xmlsec1())

    def descriptor(self) -> Any:
        """Its ``EntityDescriptor`` (with its ``shibmd:Scope``s), for a federation to sign."""
        return entity_descriptor(self.server.config)

    def respond(self, url: str, user: User = ALICE, **changes: Any) -> str:
        """Its answer to the request in ``url``, base64 as posted to the ACS (``respond_xml``)."""
        return base64.b64encode(self.respond_xml(url, user, **changes).encode()).decode()

    def respond_xml(self, url: str, user: User = ALICE, **changes: Any) -> str:
        """Its answer to the request in ``url``, as the XML document. ``changes``:
        ``sign_assertion`` (True), ``sign_response`` (False), ``encrypt_to`` (a certificate,
        PEM), ``lifetime`` (5 minutes), ``not_before`` (a timedelta from now, 0), ``audience``,
        ``recipient``, ``destination``, ``in_response_to``, ``issuer``: what the answer says
        instead of what the request asked for; ``sign_alg``, ``digest_alg`` (SHA-256)."""
        message = self._request(url)
        acs = message.assertion_consumer_service_url
        answers = changes.get("in_response_to") or message.id
        policy = _Policy(
            lifetime=changes.get("lifetime", timedelta(minutes=5)),
            not_before=changes.get("not_before", timedelta(0)),
            audience=changes.get("audience"),
            mds=self.server.metadata,
        )
        confirmation = {
            "method": SCM_BEARER,
            "subject_confirmation_data": {
                "in_response_to": answers,
                "recipient": changes.get("recipient") or acs,
            },
        }
        response = self.server.create_authn_response(
            {k: list(v) for k, v in user.attributes.items()},
            in_response_to=answers,
            destination=changes.get("destination") or acs,
            sp_entity_id=message.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_TRANSIENT, text=f"_{secrets.token_hex(16)}"),
            authn=AUTHN,
            issuer=changes.get("issuer"),
            sign_assertion=changes.get("sign_assertion", True),
            sign_response=changes.get("sign_response", False),
            encrypt_assertion=changes.get("encrypt_to") is not None,
            encrypt_cert_assertion=changes.get("encrypt_to"),
            release_policy=policy,
            sign_alg=changes.get("sign_alg", SIGN_ALG),
            digest_alg=changes.get("digest_alg", DIGEST_ALG),
            farg={"assertion": {"subject": {"subject_confirmation": confirmation}}},
        )
        return str(response)

    def decline(self, url: str, status: str = STATUS_AUTHN_FAILED) -> str:
        """Its answer when the patron did not sign in (a SAML status other than Success)."""
        message = self._request(url)
        response = self.server.create_error_response(
            message.id, message.assertion_consumer_service_url, (status, "Wrong password")
        )
        return base64.b64encode(str(response).encode()).decode()

    def _request(self, url: str) -> Any:
        """The request in ``url``, its signature checked against the hub's metadata. One sent
        to another IdP is read all the same, as a malicious IdP would."""
        query = parse_qs(urlsplit(url).query)
        try:
            parsed = self.server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        except OtherError:  # "Not destined for me!"
            return authn_request_from_string(decode_base64_and_inflate(query["SAMLRequest"][0]))
        return parsed.message


class Federation:
    """A federation's registrar: it signs the metadata it publishes with its own key."""

    def __init__(self, keys: KeyPair) -> None:
        self.keys = keys
        config = Config()
        config.load({"key_file": keys.key_file, "cert_file": keys.cert_file})
        self.security = security_context(config)
        self.security.crypto = toolkit.backend(toolkit.xmlsec1())

    def publish(
        self,
        descriptors: list[Any],
        *,
        valid_for: timedelta | None = timedelta(days=14),
        aggregate: bool = True,
        sign: bool = True,
    ) -> str:
        """The metadata of ``descriptors``: an aggregate (``EntitiesDescriptor``) or one
        ``EntityDescriptor``, valid for ``valid_for`` (negative: expired; None: no validUntil)."""
        root = md.EntitiesDescriptor(entity_descriptor=descriptors, name="https://federation.test")
        if not aggregate:
            (root,) = descriptors
        root.id = sid()
        if valid_for is not None:
            root.valid_until = _at(datetime.now(UTC) + valid_for)
        if not sign:
            return str(root)
        root.signature = pre_signature_part(
            root.id, self.security.my_cert, 1, sign_alg=SIGN_ALG, digest_alg=DIGEST_ALG
        )
        return str(self.security.sign_statement(str(root), class_name(root), node_id=root.id))
