"""An identity provider's metadata (SAML metadata 2.0; the Shibboleth metadata extension's
``shibmd:Scope``; the SAML V2.0 Metadata Interoperability profile): what the hub knows of a
library's IdP, and the only place it learns which keys the IdP signs with.

The document comes from the library's ``metadata_url`` (at most ``HUB_SAML_METADATA_MAX_MB``) or
``metadata_file``; it may be the IdP's own ``EntityDescriptor`` or a federation's aggregate
``EntitiesDescriptor`` (InCommon, the UK federation, eduGAIN), in which the library's ``idp``
is found. It is taken only if:

- it has no DTD (``wellformed.parse``'s rules: no XXE, no entity expansion);
- its root element carries a signature (the root's first child, with one reference to the root
  itself and only the enveloped-signature and canonicalisation transforms, no SHA-1) that
  verifies against the certificate in ``metadata_cert``: an unsigned document, one signed by
  another key, or a signed document wrapped in another is refused;
- it is not past its ``validUntil`` (the root's, and that of every element down to the IdP's
  ``EntityDescriptor``); a document fetched from a URL must have one, so that an old signed
  copy cannot be served again forever;
- it names the library's ``idp`` with an ``IDPSSODescriptor`` for SAML 2.0.

Anything else makes the library's sign-ins unavailable (``HomeLibraryUnavailable``, a 503).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.etree.ElementTree import Element, tostring

import httpx
from cryptography import x509

import policies
from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.saml import toolkit, wellformed
from identity.patrons.connectors.saml.errors import Refused
from identity.patrons.connectors.saml.wellformed import DS
from identity.store.models import utcnow

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
SHIBMD = "urn:mace:shibboleth:metadata:1.0"
ENTITIES = f"{{{MD}}}EntitiesDescriptor"
ENTITY = f"{{{MD}}}EntityDescriptor"
IDPSSO = f"{{{MD}}}IDPSSODescriptor"
PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
TRANSFORMS = {
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
}
FETCH_TIMEOUT_S = 30.0
RETRY_AFTER_S = 300  # what a metadata problem's 503 says: someone must fix it


@dataclass(frozen=True, slots=True)
class Scope:
    """A ``shibmd:Scope``: the domain (or, with ``regexp``, the pattern) a scoped value may
    carry after its ``@``."""

    value: str
    regexp: bool

    def allows(self, scope: str) -> bool:
        if self.regexp:
            return re.fullmatch(self.value, scope) is not None
        return scope.lower() == self.value.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityProvider:
    """The library's IdP, as its verified metadata describes it."""

    entity_id: str
    #: its ``EntityDescriptor`` alone, for pysaml2
    entity_xml: str
    #: (binding, location) of each single sign-on service
    sso: tuple[tuple[str, str], ...]
    signing_certificates: tuple[x509.Certificate, ...]
    scopes: tuple[Scope, ...]
    valid_until: datetime | None
    fetched_at: datetime
    source: str
    #: how many entities the document held (1, or an aggregate's count)
    entities: int
    metadata_certificate: x509.Certificate

    def expired(self, now: datetime) -> bool:
        return self.valid_until is not None and self.valid_until <= now


def load(library: policies.Library, *, max_bytes: int, xmlsec1: str) -> IdentityProvider:
    """Fetch or read ``library``'s IdP metadata and check it (see the module's docstring)."""
    connector = library.connector
    assert connector.kind == "saml"

    def unavailable(detail: str) -> HomeLibraryUnavailable:
        return HomeLibraryUnavailable(library.id, f"identity provider metadata: {detail}",
                                      RETRY_AFTER_S)  # fmt: skip

    try:
        cert_pem = Path(connector.metadata_cert).read_bytes()
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except (OSError, ValueError) as exc:
        raise unavailable(f"cannot read metadata_cert {connector.metadata_cert}: {exc}") from None
    source = connector.metadata_url or connector.metadata_file or ""
    document = _fetch(connector.metadata_url, connector.metadata_file, max_bytes, unavailable)
    try:
        root = _parse(document)
        _check_signature(root, document, connector.metadata_cert, xmlsec1)
        entity, valid_until = _find(root, connector.idp)
    except ValueError as exc:
        raise unavailable(f"{source}: {exc}") from None
    now = utcnow()
    if valid_until is None and connector.metadata_url:
        raise unavailable(f"{source} has no validUntil, so an old copy could be replayed")
    if valid_until is not None and valid_until <= now:
        raise unavailable(f"{source} expired at {valid_until:%Y-%m-%d %H:%M} UTC (validUntil)")
    descriptor = _idp_descriptor(entity)
    if descriptor is None:
        raise unavailable(f"{connector.idp} in {source} is not a SAML 2.0 identity provider")
    return IdentityProvider(
        entity_id=connector.idp,
        entity_xml=tostring(entity, encoding="unicode"),
        sso=tuple(
            (s.get("Binding", ""), s.get("Location", ""))
            for s in descriptor.findall(f"{{{MD}}}SingleSignOnService")
        ),
        signing_certificates=_certificates(descriptor),
        scopes=tuple(
            Scope((s.text or "").strip(), s.get("regexp", "false") in ("true", "1"))
            for where in (entity, descriptor)
            for s in where.findall(f"{{{MD}}}Extensions/{{{SHIBMD}}}Scope")
        ),
        valid_until=valid_until,
        fetched_at=now,
        source=source,
        entities=1 if root.tag == ENTITY else sum(1 for _ in root.iter(ENTITY)),
        metadata_certificate=certificate,
    )


def _fetch(
    url: str | None,
    path: str | None,
    max_bytes: int,
    unavailable: Callable[[str], HomeLibraryUnavailable],
) -> bytes:
    if path is not None:
        try:
            with Path(path).open("rb") as file:
                document = file.read(max_bytes + 1)
        except OSError as exc:
            raise unavailable(f"cannot read {path}: {exc}") from None
    else:
        assert url is not None
        try:
            with httpx.stream("GET", url, timeout=FETCH_TIMEOUT_S, follow_redirects=True) as got:
                if got.status_code != 200:
                    raise unavailable(f"{url} answered {got.status_code}")
                chunks, size = [], 0
                for chunk in got.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > max_bytes:
                        break
                document = b"".join(chunks)
        except httpx.HTTPError as exc:
            raise unavailable(f"cannot fetch {url}: {exc}") from None
    if len(document) > max_bytes:
        raise unavailable(f"{url or path} is larger than {max_bytes // 2**20} MiB")
    return document


def _parse(document: bytes) -> Element:
    try:
        return wellformed.read(document)
    except Refused as exc:
        raise ValueError(exc.detail) from None


def _check_signature(root: Element, document: bytes, cert_file: str, xmlsec1: str) -> None:
    if root.tag not in (ENTITIES, ENTITY):
        raise ValueError(f"the document is not SAML metadata but {root.tag}")
    children = [child for child in root if isinstance(child.tag, str)]  # not comments
    signatures = [child for child in children if child.tag == f"{{{DS}}}Signature"]
    if not signatures:
        raise ValueError("the metadata is not signed")
    if len(signatures) > 1 or children[0] is not signatures[0]:
        raise ValueError("the metadata's signature is not where it belongs (wrapped?)")
    info = signatures[0].find(f"{{{DS}}}SignedInfo")
    if info is None:
        raise ValueError("the metadata's signature has no SignedInfo")
    references = info.findall(f"{{{DS}}}Reference")
    root_id = root.get("ID")
    uri = references[0].get("URI") if len(references) == 1 else None
    if uri is None or uri not in ("", f"#{root_id}" if root_id else ""):
        raise ValueError("the metadata's signature does not sign the whole document")
    transforms = {t.get("Algorithm") for t in references[0].iter(f"{{{DS}}}Transform")}
    if not transforms <= TRANSFORMS:
        raise ValueError(f"the metadata's signature uses transforms {sorted(map(str, transforms))}")
    for method in (info, references[0]):
        for algorithm in method.iter():
            name = algorithm.get("Algorithm", "").rsplit("#", 1)[-1].lower()
            if algorithm.tag.endswith(("SignatureMethod", "DigestMethod")) and "sha1" in name:
                raise ValueError("the metadata is signed with SHA-1")
    node_name = root.tag.strip("{").replace("}", ":")
    if not toolkit.verify_signature(
        document, cert_file=cert_file, node_name=node_name, node_id=root_id, xmlsec1=xmlsec1
    ):
        raise ValueError("the metadata's signature does not verify against metadata_cert")


def _find(root: Element, entity_id: str) -> tuple[Element, datetime | None]:
    """The IdP's EntityDescriptor and the earliest validUntil on the way down to it."""

    def walk(element: Element, until: datetime | None) -> tuple[Element, datetime | None] | None:
        until = _earlier(until, element.get("validUntil"))
        if element.tag == ENTITY:
            return (element, until) if element.get("entityID") == entity_id else None
        for child in element:
            if child.tag in (ENTITY, ENTITIES):
                found = walk(child, until)
                if found is not None:
                    return found
        return None

    found = walk(root, None)
    if found is None:
        raise ValueError(f"the metadata does not name {entity_id}")
    return found


def _earlier(until: datetime | None, text: str | None) -> datetime | None:
    if text is None:
        return until
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"validUntil {text!r} is not a time") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment if until is None else min(until, moment)


def _idp_descriptor(entity: Element) -> Element | None:
    for descriptor in entity.findall(IDPSSO):
        if PROTOCOL in descriptor.get("protocolSupportEnumeration", "").split():
            return descriptor
    return None


def _certificates(descriptor: Element) -> tuple[x509.Certificate, ...]:
    found = []
    for key in descriptor.findall(f"{{{MD}}}KeyDescriptor"):
        if key.get("use", "signing") != "signing":
            continue
        for text in key.iter(f"{{{DS}}}X509Certificate"):
            try:
                der = base64.b64decode("".join((text.text or "").split()))
                found.append(x509.load_der_x509_certificate(der))
            except ValueError:
                continue
    return tuple(found)
