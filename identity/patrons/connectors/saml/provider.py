"""The hub's SAML 2.0 service provider: one for every library whose connector is ``saml``,
entityID ``{issuer}/saml/metadata``, assertion consumer service ``{issuer}/saml/acs``."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from saml2 import BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from sqlalchemy import Engine
from sqlmodel import Session

import policies
from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.federated import FederatedPatron
from identity.patrons.connectors.saml import (
    attributes,
    checks,
    idp_metadata,
    keys,
    replay,
    response,
    sp_metadata,
    toolkit,
)
from identity.patrons.connectors.saml.errors import Refused
from identity.patrons.connectors.saml.idp_metadata import IdentityProvider
from identity.patrons.connectors.saml.metadata_cache import MetadataCache
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import utcnow

KEYS_READ_EVERY = timedelta(seconds=60)  # a rotation is announced days ahead: this is plenty
METADATA_MADE_EVERY = timedelta(hours=1)
MAX_RELAY_STATE = 80  # bytes (SAML bindings 3.4.3)


class ServiceProvider:
    """``begin`` a sign-in at a library's IdP, ``finish`` it with the IdP's answer, and
    publish the hub's ``metadata``. Safe to share between threads."""

    def __init__(self, *, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine
        self.entity_id = f"{settings.issuer}/saml/metadata"
        self.acs = f"{settings.issuer}/saml/acs"
        refresh = timedelta(seconds=settings.saml_metadata_refresh_s)
        self._metadata = MetadataCache(self.fetch_identity_provider, refresh=refresh)
        self._lock = threading.Lock()
        self._keys: tuple[datetime, keys.KeySet] | None = None
        self._files: dict[tuple[str, ...], toolkit.KeyFiles] = {}
        self._clients: dict[str, tuple[tuple[object, ...], Saml2Client]] = {}
        self._document: tuple[tuple[str, ...], datetime, bytes] | None = None

    def begin(self, library: policies.Library, relay_state: str) -> tuple[str, str]:
        """Where to send the patron's browser to sign in at ``library``'s IdP (an
        authentication request, signed, in the HTTP-Redirect binding, asking for the answer
        at the ACS by HTTP-POST, with ``relay_state``), and the request's ID, which the
        answer must name. ``HomeLibraryUnavailable`` if the IdP's metadata cannot be had."""
        if len(relay_state.encode()) > MAX_RELAY_STATE:
            raise ValueError(f"RelayState is at most {MAX_RELAY_STATE} bytes")
        idp = self._metadata.get(library)
        if not any(binding == BINDING_HTTP_REDIRECT for binding, _ in idp.sso):
            raise HomeLibraryUnavailable(
                library.id, "its identity provider has no HTTP-Redirect sign-on service", 300
            )
        request_id, info = self._client(library, idp).prepare_for_authenticate(
            entityid=idp.entity_id,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            sigalg=toolkit.SIGNING_ALGORITHM,
            digest_alg=toolkit.DIGEST_ALGORITHM,
        )
        return str(dict(info["headers"])["Location"]), str(request_id)

    def finish(
        self,
        *,
        saml_response: str,
        relay_state: str,
        expected_request_id: str,
        library: policies.Library,
    ) -> FederatedPatron:
        """Who signed in, from the IdP's answer (the posted ``SAMLResponse``) to the request
        ``expected_request_id`` the hub sent for ``library`` (``response``'s steps, in order).
        ``Refused`` (or ``Declined``) if the answer is not accepted; ``HomeLibraryUnavailable``
        if the IdP's metadata cannot be had."""
        connector = library.connector
        if connector.kind != "saml":
            raise ValueError(f"{library.id} does not sign in with SAML")
        expected = checks.Expected(idp=connector.idp, sp=self.entity_id, acs=self.acs,
                                   request_id=expected_request_id, now=utcnow())  # fmt: skip
        document = response.decode(saml_response)
        idp = self._metadata.get(library)
        client = self._client(library, idp)
        assertion = response.assertion_of(document, expected, client)
        until = checks.assertion(assertion, expected)
        proven = response.verified(client, saml_response, expected, relay_state)
        assertion_id = assertion.get("ID") or ""
        if proven.id != assertion_id:
            raise Refused("wrapped", "the assertion verified is not the one checked")
        patron = attributes.patron(
            library=library, attributes=attributes.released(proven), scopes=idp.scopes
        )
        if not replay.accept_once(self.engine, issuer=connector.idp, assertion_id=assertion_id,
                                  until=until):  # fmt: skip
            raise Refused("replayed", "this assertion has been used before")
        return patron

    def metadata(self) -> bytes:
        """The hub's signed SAML metadata (``sp_metadata``), made again hourly and whenever
        the keys change."""
        key_set = self.keys_in_use()
        now = utcnow()
        made = self._document
        if made is not None and made[0] == key_set.fingerprint and made[1] > now:
            return made[2]
        configuration = toolkit.config(entity_id=self.entity_id, acs=self.acs,
                                       issuer=self.settings.issuer,
                                       files=self._key_files(key_set), xmlsec1=toolkit.xmlsec1(),
                                       for_metadata=True)  # fmt: skip
        document = sp_metadata.document(configuration)
        self._document = (key_set.fingerprint, now + METADATA_MADE_EVERY, document)
        return document

    def fetch_identity_provider(self, library: policies.Library) -> IdentityProvider:
        return fetch_identity_provider(library, self.settings)

    def keys_in_use(self) -> keys.KeySet:
        """The service provider's keys in use: from the settings' files, or the database's
        (made there on first use), read at most every minute."""
        now = utcnow()
        cached = self._keys
        if cached is not None and cached[0] > now:
            return cached[1]
        found = keys.from_files(self.settings)
        if found is None:
            secret = self.settings.secret()
            with Session(self.engine) as session:
                found = keys.current(keys.rows(session), secret, now)
            if found is None:
                with transaction(self.engine) as session:
                    keys.ensure(session=session, settings=self.settings, actor="hub:saml")
                    found = keys.current(keys.rows(session), secret, utcnow())
            assert found is not None
        self._keys = (now + KEYS_READ_EVERY, found)
        return found

    def _key_files(self, key_set: keys.KeySet) -> toolkit.KeyFiles:
        with self._lock:
            files = self._files.get(key_set.fingerprint)
            if files is None:
                files = self._files[key_set.fingerprint] = toolkit.KeyFiles(key_set)
            return files

    def _client(self, library: policies.Library, idp: IdentityProvider) -> Saml2Client:
        """The pysaml2 client for ``idp``'s metadata and the keys in use, kept while both are."""
        key_set = self.keys_in_use()
        version = (idp.entity_id, idp.fetched_at, key_set.fingerprint)
        with self._lock:
            cached = self._clients.get(library.id)
        if cached is not None and cached[0] == version:
            return cached[1]
        configuration = toolkit.config(entity_id=self.entity_id, acs=self.acs,
                                       issuer=self.settings.issuer,
                                       files=self._key_files(key_set), xmlsec1=toolkit.xmlsec1(),
                                       idp_entity_xml=idp.entity_xml)  # fmt: skip
        made = toolkit.client(configuration)
        with self._lock:
            self._clients[library.id] = (version, made)
        return made


def fetch_identity_provider(library: policies.Library, settings: Settings) -> IdentityProvider:
    """``library``'s IdP as its metadata, fetched and verified now, describes it (what
    ``hub connectors test`` and an administrator's connection test show); raises
    ``HomeLibraryUnavailable`` as a sign-in would."""
    max_bytes = settings.saml_metadata_max_mb * 2**20
    return idp_metadata.load(library, max_bytes=max_bytes, xmlsec1=toolkit.xmlsec1())
