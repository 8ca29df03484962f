"""Where the hub meets pysaml2 (the SAML library SATOSA is built on) and xmlsec1, which pysaml2
runs to sign, verify and decrypt: the service provider's pysaml2 client for one library's IdP,
and the key files it reads.

pysaml2 and xmlsec1 read keys from files only, so the keys in use are written, once per
process and key set, to a directory of the process's own (mode 0700, in ``/dev/shm`` where
there is one, so on no disk), removed when the process ends.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import traceback
import weakref
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from saml2 import BINDING_HTTP_POST, xmldsig
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.sigver import CryptoBackendXmlSec1, SigverError, XmlsecError, get_xmlsec_binary

from identity.patrons.connectors.saml.checks import SKEW
from identity.patrons.connectors.saml.keys import KeySet

SIGNING_ALGORITHM = xmldsig.SIG_RSA_SHA256
DIGEST_ALGORITHM = xmldsig.DIGEST_SHA256
#: what the hub's metadata asks identity providers to release (SAML attribute names), the
#: REFEDS Personalized Access entity category's, besides the identifiers
REQUESTED = (
    "subject-id",
    "pairwise-id",
    "eduPersonPrincipalName",
    "eduPersonScopedAffiliation",
    "displayName",
    "givenName",
    "sn",
    "mail",
)
NAME = "Reciprocal borrowing: patron identity hub"

# pysaml2 logs whole SAML documents (names, identifiers, attributes) at INFO and ERROR: nothing of
# a patron goes into the hub's logs, so only its critical messages are kept
logging.getLogger("saml2").setLevel(logging.CRITICAL)


def xmlsec1() -> str:
    """The xmlsec1 program's path; ``RuntimeError`` if it is not installed."""
    try:
        return str(get_xmlsec_binary())
    except SigverError:
        raise RuntimeError(
            "xmlsec1 is not installed (Debian: apt-get install xmlsec1): the hub needs it for SAML"
        ) from None


def release(error: BaseException) -> None:
    """Let go of what the frames of ``error`` (and the errors it chains) hold: pysaml2 keeps
    temporary files open in its local variables, which would otherwise close only when the
    garbage collector finds the cycle the error makes with its frames."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
        stack += [current.__cause__, current.__context__]


class XmlSec1(CryptoBackendXmlSec1):  # type: ignore[misc]
    """pysaml2's xmlsec1 backend, asking xmlsec1 its version once rather than before every
    signature, verification and decryption (each is a process of its own)."""

    @cached_property
    def version(self) -> str:
        return str(super().version)


@cache
def backend(xmlsec1: str) -> XmlSec1:
    return XmlSec1(xmlsec1)


def verify_signature(
    document: bytes, *, cert_file: str, node_name: str, node_id: str | None, xmlsec1: str
) -> bool:
    """Whether the signature of the element ``node_id`` (or the document's first) verifies
    against the certificate in ``cert_file``. Only same-document references and the given
    certificate are used: never a key the document carries."""
    try:
        return bool(
            backend(xmlsec1).validate_signature(document, cert_file, "pem", node_name, node_id)
        )
    except XmlsecError as exc:
        release(exc)
        return False


class KeyFiles:
    """The keys of one ``KeySet``, written to files of this process's own."""

    def __init__(self, keys: KeySet) -> None:
        shm = Path("/dev/shm")
        where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        self.directory = Path(tempfile.mkdtemp(prefix="hub-saml-", dir=where))
        weakref.finalize(self, shutil.rmtree, self.directory, True)
        self.signing = self._pair(keys.signing.kid, keys.signing.private_key,
                                  keys.signing.certificate)  # fmt: skip
        self.upcoming_signing = tuple(
            self._cert(k.kid, k.certificate) for k in keys.upcoming_signing
        )
        self.published_encryption = tuple(
            self._pair(k.kid, k.private_key, k.certificate)
            for k in (keys.encryption, *keys.upcoming_encryption)
        )
        self.decrypting = tuple(
            self._pair(k.kid, k.private_key, k.certificate or keys.encryption.certificate)
            for k in keys.decrypting
        )

    def _pair(self, kid: str, private_key: str, certificate: str) -> tuple[str, str]:
        return self._write(f"{kid}.key", private_key), self._cert(kid, certificate)

    def _cert(self, kid: str, certificate: str) -> str:
        return self._write(f"{kid}.crt", certificate)

    def _write(self, name: str, text: str) -> str:
        path = self.directory / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        return str(path)


def config(
    *,
    entity_id: str,
    acs: str,
    issuer: str,
    files: KeyFiles,
    xmlsec1: str,
    idp_entity_xml: str | None = None,
    for_metadata: bool = False,
) -> SPConfig:
    """The pysaml2 configuration of the hub's service provider: for reading answers from one
    IdP (whose verified metadata is ``idp_entity_xml``), or ``for_metadata`` (listing the
    published certificates rather than every key that decrypts)."""
    pairs = files.published_encryption if for_metadata else files.decrypting
    settings: dict[str, Any] = {
        "entityid": entity_id,
        "name": NAME,
        "description": "Tells a library whether it may lend to a visiting patron.",
        "key_file": files.signing[0],
        "cert_file": files.signing[1],
        "additional_cert_files": list(files.upcoming_signing) if for_metadata else None,
        "encryption_keypairs": [{"key_file": key, "cert_file": cert} for key, cert in pairs],
        "xmlsec_binary": xmlsec1,
        "accepted_time_diff": int(SKEW.total_seconds()),
        "allow_unknown_attributes": True,
        "only_use_keys_in_metadata": True,
        "signing_algorithm": SIGNING_ALGORITHM,
        "digest_algorithm": DIGEST_ALGORITHM,
        "metadata": {"inline": [idp_entity_xml]} if idp_entity_xml else {},
        "entity_attributes": [
            {  # SAML V2.0 Subject Identifier Attributes profile 3.4: either identifier
                "name": "urn:oasis:names:tc:SAML:profiles:subject-id:req",
                "format": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
                "values": ["any"],
            }
        ],
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(acs, BINDING_HTTP_POST)]},
                "want_assertions_signed": True,
                "want_response_signed": False,
                "allow_unsolicited": False,
                "authn_requests_signed": True,
                "optional_attributes": list(REQUESTED),
                "ui_info": {
                    "display_name": [{"text": NAME, "lang": "en"}],
                    "description": [
                        {
                            "text": "Who a visiting patron is, for the library lending "
                            "to them, under its reciprocal borrowing agreements.",
                            "lang": "en",
                        }
                    ],  # fmt: skip
                    "information_url": [{"text": f"{issuer}/", "lang": "en"}],
                    "privacy_statement_url": [{"text": f"{issuer}/privacy", "lang": "en"}],
                },
            }
        },
    }
    made = SPConfig()
    made.load({k: v for k, v in settings.items() if v is not None})
    return made


class _NoPopulation:
    """pysaml2's clients remember every subject they have seen, in memory, for ever; the hub
    keeps no SAML session, so nothing is remembered."""

    def add_information_about_person(self, session_info: Any) -> None:
        return None


def client(configuration: SPConfig) -> Saml2Client:
    made = Saml2Client(configuration)
    made.users = _NoPopulation()
    made.sec.crypto = backend(configuration.xmlsec_binary)
    return made
