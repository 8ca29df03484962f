"""The keys of the hub's SAML service provider (SAML metadata 2.4.1.1, ``KeyDescriptor``): one
pair signs its authentication requests and its metadata, another decrypts the assertions
identity providers encrypt to it.

By default the hub makes its own (RSA 3072, self-signed certificates for ten years, as SAML
metadata expects) and keeps them in the database, the private halves encrypted with a key
derived from ``HUB_SECRET_KEY``. Rotation never breaks a sign-in: ``rotate`` makes a new pair
that the metadata lists at once but that is used only from ``use_from`` (``announce`` later),
so identity providers and federations have fetched it before it signs anything; the pair it
replaces then still decrypts for as long again, for those that fetch metadata slowly.

Or the operator names key and certificate files (``HUB_SAML_KEY_FILE``, ``HUB_SAML_CERT_FILE``:
one pair for both uses), a next pair (``HUB_SAML_NEXT_*``, published and decrypting) and the
previous key (``HUB_SAML_PREVIOUS_KEY_FILE``, decrypting only), and rotates by changing them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlmodel import Session, col, select

from identity.admin import audit
from identity.security import derived_keys
from identity.settings import Settings
from identity.store.database import lock
from identity.store.models import SamlKey, as_utc, utcnow

Use = Literal["signing", "encryption"]
USES: tuple[Use, ...] = ("signing", "encryption")
PURPOSE = "saml keys"  # of the key derived from HUB_SECRET_KEY that encrypts them
KEY_BITS = 3072
CERTIFICATE_LIFETIME = timedelta(days=3650)


@dataclass(frozen=True, slots=True)
class Key:
    kid: str
    certificate: str  # PEM
    private_key: str  # PEM, unencrypted: only ever in memory and in the private key files
    use_from: datetime


@dataclass(frozen=True, slots=True)
class KeySet:
    """The keys in use at one moment."""

    signing: Key
    encryption: Key
    #: announced, not yet in use: published in the metadata, and decrypting already
    upcoming_signing: tuple[Key, ...] = ()
    upcoming_encryption: tuple[Key, ...] = ()
    #: replaced, decrypting only, for as long as their successor was announced
    retiring: tuple[Key, ...] = ()

    @property
    def decrypting(self) -> tuple[Key, ...]:
        keys = (self.encryption, *self.upcoming_encryption, *self.retiring)
        return tuple({key.kid: key for key in keys}.values())

    @property
    def fingerprint(self) -> tuple[str, ...]:
        """Which keys these are: a cache of anything built from them is keyed by this."""
        parts = (self.signing, *self.upcoming_signing, *self.decrypting)
        return tuple(key.kid for key in parts)


@dataclass(frozen=True, slots=True)
class Roles:
    """What each row of the table is doing at one moment (``KeySet``, before decryption)."""

    signing: SamlKey
    encryption: SamlKey
    upcoming: tuple[SamlKey, ...]
    #: replaced encryption keys still decrypting, each with the moment it stops
    retiring: tuple[tuple[SamlKey, datetime], ...]

    def state(self, row: SamlKey) -> str:
        if row is self.signing or row is self.encryption:
            return "in use"
        if any(row is upcoming for upcoming in self.upcoming):
            return f"announced, in use from {as_utc(row.use_from):%Y-%m-%d %H:%M} UTC"
        for retiring, until in self.retiring:
            if row is retiring:
                return f"replaced, decrypts until {until:%Y-%m-%d %H:%M} UTC"
        return "retired"


def roles(rows: list[SamlKey], now: datetime) -> Roles | None:
    """The roles of ``rows`` (all of the table) at ``now``; None if there are no keys yet."""
    newest_first = sorted(rows, key=lambda r: as_utc(r.use_from), reverse=True)
    used = {u: [r for r in newest_first if r.use == u and as_utc(r.use_from) <= now] for u in USES}
    if not used["signing"] or not used["encryption"]:
        return None
    active = used["encryption"][0]
    # the key it replaced decrypts for as long again as it was announced
    until = as_utc(active.use_from) + (as_utc(active.use_from) - as_utc(active.created_at))
    return Roles(
        signing=used["signing"][0],
        encryption=active,
        upcoming=tuple(r for r in newest_first if as_utc(r.use_from) > now),
        retiring=tuple((r, until) for r in used["encryption"][1:] if until > now),
    )


def current(rows: list[SamlKey], secret: str, now: datetime) -> KeySet | None:
    """The keys in use at ``now`` among ``rows``, decrypted, or None if there are none yet.
    Raises ``ValueError`` if ``secret`` cannot decrypt them."""
    found = roles(rows, now)
    if found is None:
        return None

    def key(row: SamlKey) -> Key:
        return Key(row.kid, row.certificate, _decrypt(row, secret), as_utc(row.use_from))

    return KeySet(
        signing=key(found.signing),
        encryption=key(found.encryption),
        upcoming_signing=tuple(key(r) for r in found.upcoming if r.use == "signing"),
        upcoming_encryption=tuple(key(r) for r in found.upcoming if r.use == "encryption"),
        retiring=tuple(key(r) for r, _ in found.retiring),
    )


def from_files(settings: Settings) -> KeySet | None:
    """The keys named by the settings, or None if they name none. Raises ``OSError`` or
    ``ValueError`` for a file that cannot be read or holds no key or certificate."""
    if not settings.saml_key_file:
        return None
    key = _file_key(settings.saml_key_file, settings.saml_cert_file)
    upcoming: tuple[Key, ...] = ()
    if settings.saml_next_key_file:
        upcoming = (_file_key(settings.saml_next_key_file, settings.saml_next_cert_file),)
    retiring: tuple[Key, ...] = ()
    if settings.saml_previous_key_file:
        previous = Path(settings.saml_previous_key_file).read_text()
        _load_private(previous)
        retiring = (Key(_kid("file", previous), "", previous, key.use_from),)
    return KeySet(
        signing=key,
        encryption=key,
        upcoming_signing=upcoming,
        upcoming_encryption=upcoming,
        retiring=retiring,
    )


def rows(session: Session) -> list[SamlKey]:
    return list(session.exec(select(SamlKey).order_by(col(SamlKey.created_at))))


def ensure(*, session: Session, settings: Settings, actor: str) -> None:
    """Make the first pair if there is none (under the lock: one pair, not one per process)."""
    lock(session, PURPOSE)
    if not rows(session):
        _add_pair(session=session, settings=settings, use_from=utcnow(), actor=actor)


def rotate(*, session: Session, settings: Settings, actor: str, announce: timedelta) -> datetime:
    """Make a new pair, published now and used from ``announce`` later (when it is returned);
    the pair it replaces still decrypts for as long again. Refused (``ValueError``) while a
    rotation is still announced."""
    lock(session, PURPOSE)
    now = utcnow()
    pending = [r for r in rows(session) if as_utc(r.use_from) > now]
    if pending:
        when = min(as_utc(r.use_from) for r in pending)
        raise ValueError(
            f"a new pair is already announced, to be used from {when:%Y-%m-%d %H:%M} UTC"
        )
    use_from = now + announce
    _add_pair(session=session, settings=settings, use_from=use_from, actor=actor)
    return use_from


def _add_pair(*, session: Session, settings: Settings, use_from: datetime, actor: str) -> None:
    secret = settings.secret()
    host = urlsplit(settings.issuer).hostname or "hub"
    made = []
    for use in USES:
        private, certificate = generate(host)
        kid = f"{utcnow():%Y%m%d}-{use[:3]}-{secrets.token_hex(4)}"
        encrypted = derived_keys.fernet(secret, PURPOSE).encrypt(private.encode()).decode()
        session.add(SamlKey(kid=kid, use=use, certificate=certificate,
                            private_key_encrypted=encrypted, created_at=utcnow(),
                            use_from=use_from))  # fmt: skip
        made.append(kid)
    session.flush()
    audit.record(session=session, actor=actor, action="saml.keys.add", subject="saml:sp",
                 before=None, after={"kids": made, "use_from": use_from.isoformat()})  # fmt: skip


def generate(host: str) -> tuple[str, str]:
    """A new RSA key and a self-signed certificate for it (PEM): SAML trusts the certificate
    because the metadata lists it, not because anyone signed it."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])])
    now = utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + CERTIFICATE_LIFETIME)
        .sign(private, hashes.SHA256())
    )
    key_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem.decode(), certificate.public_bytes(serialization.Encoding.PEM).decode()


def _decrypt(row: SamlKey, secret: str) -> str:
    try:
        data = derived_keys.fernet(secret, PURPOSE).decrypt(row.private_key_encrypted.encode())
    except InvalidToken:
        raise ValueError(
            f"SAML key {row.kid} cannot be decrypted with this HUB_SECRET_KEY"
        ) from None
    return data.decode()


def _file_key(key_file: str, cert_file: str) -> Key:
    private, certificate = Path(key_file).read_text(), Path(cert_file).read_text()
    _load_private(private)
    x509.load_pem_x509_certificate(certificate.encode())  # ValueError if it is none
    return Key(_kid("file", certificate), certificate, private, datetime.min.replace(tzinfo=UTC))


def _load_private(text: str) -> None:
    serialization.load_pem_private_key(text.encode(), password=None)  # ValueError if none


def _kid(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
