"""The identity provider's metadata: signed by the federation (``metadata_cert``), picked out
of an aggregate, from a file or a URL, not past its ``validUntil``; anything else makes the
library's sign-ins unavailable (503), never trusted."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from sqlalchemy import Engine

from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.saml.idp_metadata import IdentityProvider as KnownIdp
from identity.patrons.connectors.saml.metadata_cache import MetadataCache
from identity.patrons.connectors.saml.provider import ServiceProvider
from identity.patrons.connectors.saml.wellformed import DS
from identity.store.models import utcnow
from tests.identity.connectors.saml.conftest import (
    IDP,
    OTHER_IDP,
    Keys,
    Library,
    sp_settings,
)
from tests.identity.connectors.saml.idp import Federation, IdentityProvider, User


def unavailable(provider: ServiceProvider, library: Library, **connector: str | None) -> str:
    with pytest.raises(HomeLibraryUnavailable) as caught:
        provider.begin(library(**connector), "pending-1")
    assert caught.value.retry_after == 300
    return caught.value.reason


def signs_in(
    provider: ServiceProvider,
    library: Library,
    at: IdentityProvider,
    user: User | None = None,
    **connector: str | None,
) -> str:
    entry = library(**connector)
    url, request_id = provider.begin(entry, "pending-1")
    answer = at.respond(url, user) if user else at.respond(url)
    return provider.finish(
        saml_response=answer, relay_state="pending-1", expected_request_id=request_id, library=entry
    ).patron_id


Write = Callable[[str], str]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write a metadata document to a file of its own; its path."""

    def made(text: str) -> str:
        path = tmp_path / f"metadata-{len(list(tmp_path.iterdir()))}.xml"
        path.write_text(text)
        return str(path)

    return made


def test_each_library_finds_its_idp_in_the_federations_aggregate(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    other_idp: IdentityProvider,
) -> None:
    assert signs_in(provider, library, idp) == "a1b2c3@uni.test"
    carol = User({"eduPersonPrincipalName": ["carol@college.test"]})
    assert signs_in(provider, library, other_idp, carol, idp=OTHER_IDP) == "carol@college.test"


def test_an_idps_own_signed_entity_descriptor_is_enough(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    federation: Federation,
    write: Write,
) -> None:
    own = write(federation.publish([idp.descriptor()], aggregate=False))
    assert signs_in(provider, library, idp, metadata_file=own) == "a1b2c3@uni.test"


def test_unsigned_or_wrongly_signed_metadata_is_refused(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    federation: Federation,
    saml_keys: Keys,
    write: Write,
) -> None:
    unsigned = write(federation.publish([idp.descriptor()], sign=False))
    assert "not signed" in unavailable(provider, library, metadata_file=unsigned)
    rogue = write(Federation(saml_keys.rogue).publish([idp.descriptor()]))
    assert "does not verify" in unavailable(provider, library, metadata_file=rogue)
    # the federation's metadata, checked against another certificate
    assert "does not verify" in unavailable(
        provider, library, metadata_cert=saml_keys.rogue.cert_file
    )


def test_metadata_changed_after_signing_is_refused(
    provider: ServiceProvider,
    library: Library,
    metadata_file: Path,
    write: Write,
) -> None:
    signed = metadata_file.read_text()
    widened = write(signed.replace(">uni.test<", ">evil.test<"))
    assert "does not verify" in unavailable(provider, library, metadata_file=widened)


def test_signed_metadata_wrapped_in_another_document_is_refused(
    provider: ServiceProvider,
    library: Library,
    metadata_file: Path,
    saml_keys: Keys,
    sp_metadata: str,
    write: Write,
) -> None:
    """An impostor's entity for the library's IdP beside the federation's signed aggregate,
    in a new root: unsigned, or given the aggregate's signature and ID."""
    signed = metadata_file.read_text().split("?>", 1)[-1]
    impostor = IdentityProvider(IDP, saml_keys.rogue, ["uni.test"], sp_metadata)
    evil = str(impostor.descriptor())
    md = "urn:oasis:names:tc:SAML:2.0:metadata"
    outer = write(f'<EntitiesDescriptor xmlns="{md}">{evil}{signed}</EntitiesDescriptor>')
    assert "not signed" in unavailable(provider, library, metadata_file=outer)
    root_id = signed.split(' ID="', 1)[1].split('"', 1)[0]
    found = re.search(r"<(\w+):Signature\b.*?</\1:Signature>", signed, flags=re.S)
    assert found is not None
    stolen = write(
        f'<EntitiesDescriptor xmlns="{md}" xmlns:{found.group(1)}="{DS}" '
        f'ID="{root_id}">{found.group(0)}{evil}{signed}</EntitiesDescriptor>'
    )
    assert "does not verify" in unavailable(provider, library, metadata_file=stolen)


def test_metadata_past_its_valid_until_is_refused(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    federation: Federation,
    write: Write,
) -> None:
    expired = write(federation.publish([idp.descriptor()], valid_for=timedelta(hours=-1)))
    assert "expired" in unavailable(provider, library, metadata_file=expired)


def test_metadata_with_a_dtd_or_not_naming_the_idp_is_refused(
    provider: ServiceProvider,
    library: Library,
    metadata_file: Path,
    write: Write,
) -> None:
    signed = metadata_file.read_text()
    with_dtd = write(signed.replace("?>", '?><!DOCTYPE r [<!ENTITY x "y">]>', 1))
    assert "document type declaration" in unavailable(provider, library, metadata_file=with_dtd)
    assert "does not name" in unavailable(provider, library, idp="https://idp.nowhere.test/idp")
    missing = str(metadata_file.with_name("missing.xml"))
    assert "cannot read" in unavailable(provider, library, metadata_file=missing)


@pytest.fixture
def metadata_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """An HTTP server publishing the documents put in its dictionary, by path."""
    documents: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", documents
    server.shutdown()
    server.server_close()


def test_metadata_from_a_url_must_say_until_when_it_is_valid(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    federation: Federation,
    metadata_server: tuple[str, dict[str, bytes]],
) -> None:
    where, documents = metadata_server
    documents["/federation.xml"] = federation.publish([idp.descriptor()]).encode()
    documents["/forever.xml"] = federation.publish([idp.descriptor()], valid_for=None).encode()
    url = f"{where}/federation.xml"
    assert (
        signs_in(provider, library, idp, metadata_file=None, metadata_url=url) == "a1b2c3@uni.test"
    )
    forever = f"{where}/forever.xml"
    assert "no validUntil" in unavailable(
        provider, library, metadata_file=None, metadata_url=forever
    )
    gone = f"{where}/gone.xml"
    assert "answered 404" in unavailable(provider, library, metadata_file=None, metadata_url=gone)


def test_metadata_larger_than_the_limit_is_refused(
    engine: Engine,
    database_url: str,
    saml_keys: Keys,
    library: Library,
    metadata_file: Path,
    write: Write,
) -> None:
    settings = sp_settings(database_url, saml_keys, saml_metadata_max_mb="1")
    provider = ServiceProvider(settings=settings, engine=engine)
    padded = write(metadata_file.read_text() + "<!--" + "x" * 2**20 + "-->")
    assert "larger than 1 MiB" in unavailable(provider, library, metadata_file=padded)


def test_a_valid_copy_serves_while_the_file_is_gone(
    provider: ServiceProvider, library: Library, idp: IdentityProvider, metadata_file: Path
) -> None:
    assert signs_in(provider, library, idp) == "a1b2c3@uni.test"
    metadata_file.unlink()
    assert signs_in(provider, library, idp) == "a1b2c3@uni.test"


def test_the_cache_refreshes_in_the_background_and_waits_only_when_it_must(
    library: Library, saml_keys: Keys
) -> None:
    """A copy past the refresh interval serves once more while the next is fetched; a copy
    past its validUntil is not used: the next is fetched first, or the library is
    unavailable."""
    certificate = x509.load_pem_x509_certificate(saml_keys.federation.cert_pem.encode())

    def known(valid_for: timedelta) -> KnownIdp:
        return KnownIdp(
            entity_id=IDP,
            entity_xml="",
            sso=(),
            signing_certificates=(),
            scopes=(),
            valid_until=utcnow() + valid_for,
            fetched_at=utcnow(),
            source="test",
            entities=1,
            metadata_certificate=certificate,
        )

    def loader(*answers: KnownIdp | HomeLibraryUnavailable) -> Callable[[object], KnownIdp]:
        queue = list(answers)

        def load(_: object) -> KnownIdp:
            answer = queue.pop(0) if queue else answers[-1]
            if isinstance(answer, HomeLibraryUnavailable):
                raise answer
            fetched.append(answer)
            return answer

        return load

    fetched: list[KnownIdp] = []
    first, second = known(timedelta(hours=1)), known(timedelta(hours=1))
    cache = MetadataCache(loader(first, second), refresh=timedelta(0))
    assert cache.get(library()) is first
    assert cache.get(library()) is first  # stale: served, and refreshed behind it
    for _ in range(250):  # until the refresh has landed
        if cache.get(library()) is second:
            break
        time.sleep(0.02)
    assert cache.get(library()) is second
    expired, fresh = known(timedelta(seconds=-1)), known(timedelta(hours=1))
    cache = MetadataCache(loader(expired, fresh), refresh=timedelta(hours=1))
    assert cache.get(library()) is expired  # as loaded (the real loader refuses such a copy)
    assert cache.get(library()) is fresh  # not used again: fetched anew, waiting for it
    down = HomeLibraryUnavailable("uni", "identity provider metadata: down")
    cache = MetadataCache(loader(expired, down), refresh=timedelta(hours=1))
    cache.get(library())
    with pytest.raises(HomeLibraryUnavailable):
        cache.get(library())
