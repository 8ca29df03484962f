"""Crafted answers, each made from a real signed response of the test IdP: signature wrapping
(the signed assertion kept, another one beside or around it), XXE and entity expansion, a
comment inside a value. None signs anybody in, and none fetches anything."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from identity.patrons.connectors.saml import Refused
from identity.patrons.connectors.saml.provider import ServiceProvider
from tests.identity.connectors.saml.conftest import Library
from tests.identity.connectors.saml.idp import IdentityProvider

Craft = Callable[[str], str]


def parts(xml: str) -> tuple[str, str, str, str]:
    """A response as: what comes before its assertion, the signed assertion, what comes
    after it, and the assertion element's prefix."""
    start = re.search(r"<(\w+):Assertion\b", xml)
    assert start is not None
    prefix = start.group(1)
    end = xml.index(f"</{prefix}:Assertion>") + len(f"</{prefix}:Assertion>")
    return xml[: start.start()], xml[start.start() : end], xml[end:], prefix


def forged(assertion: str, *, new_id: str | None = "id-forged") -> str:
    """The signed assertion rewritten for mallory, its signature dropped (its digest would no
    longer match), under a new ID or (``new_id`` None) the original's."""
    unsigned = re.sub(r"<(\w+):Signature\b.*?</\1:Signature>", "", assertion, flags=re.S)
    made = unsigned.replace("a1b2c3@uni.test", "m4ll0ry@uni.test")
    return made if new_id is None else re.sub(r' ID="[^"]+"', f' ID="{new_id}"', made, count=1)


def inserted_before(xml: str) -> str:
    """XSW: an unsigned assertion beside the signed one, first."""
    before, signed, after, _ = parts(xml)
    return before + forged(signed) + signed + after


def signed_inside_forged(xml: str) -> str:
    """XSW: the forged assertion, under the original's ID, in the signed one's place, with the
    signed one moved inside it (where a verifier that looks the ID up may find it)."""
    before, signed, after, prefix = parts(xml)
    evil = forged(signed, new_id=None)
    issuer_end = evil.index(f"</{prefix}:Issuer>") + len(f"</{prefix}:Issuer>")
    return before + evil[:issuer_end] + signed + evil[issuer_end:] + after


def signed_in_extensions(xml: str) -> str:
    """XSW: the signed assertion moved into the response's Extensions, the forged one (under
    the original's ID) in its place."""
    before, signed, after, _ = parts(xml)
    protocol = re.search(r"<(\w+):Response\b", xml)
    assert protocol is not None
    p = protocol.group(1)
    status = before.index(f"<{p}:Status>")
    extensions = f"<{p}:Extensions>{signed}</{p}:Extensions>"
    return before[:status] + extensions + before[status:] + forged(signed, new_id=None) + after


def signature_carries_the_original(xml: str) -> str:
    """XSW: the forged assertion carries the signed one's signature, with the signed assertion
    hidden in the signature's ds:Object."""
    before, signed, after, prefix = parts(xml)
    signature = re.search(r"<(\w+):Signature\b.*?</\1:Signature>", signed, flags=re.S)
    assert signature is not None
    ds = signature.group(1)
    carried = signature.group(0).replace(
        f"</{ds}:Signature>", f"<{ds}:Object>{signed}</{ds}:Object></{ds}:Signature>"
    )
    evil = forged(signed, new_id=None)
    issuer_end = evil.index(f"</{prefix}:Issuer>") + len(f"</{prefix}:Issuer>")
    return before + evil[:issuer_end] + carried + evil[issuer_end:] + after


def signed_moved_alone(xml: str) -> str:
    """The signed assertion alone, moved into the response's Extensions."""
    before, signed, after, _ = parts(xml)
    protocol = re.search(r"<(\w+):Response\b", xml)
    assert protocol is not None
    p = protocol.group(1)
    status = before.index(f"<{p}:Status>")
    return before[:status] + f"<{p}:Extensions>{signed}</{p}:Extensions>" + before[status:] + after


def post(
    provider: ServiceProvider, library: Library, idp: IdentityProvider, craft: Craft
) -> Refused:
    url, request_id = provider.begin(library(), "pending-1")
    xml = craft(idp.respond_xml(url))
    with pytest.raises(Refused) as caught:
        provider.finish(
            saml_response=base64.b64encode(xml.encode()).decode(),
            relay_state="pending-1",
            expected_request_id=request_id,
            library=library(),
        )
    return caught.value


@pytest.mark.parametrize(
    "craft",
    [
        inserted_before,
        signed_inside_forged,
        signed_in_extensions,
        signature_carries_the_original,
        signed_moved_alone,
    ],
)
def test_signature_wrapping_is_refused(
    provider: ServiceProvider, library: Library, idp: IdentityProvider, craft: Craft
) -> None:
    assert post(provider, library, idp, craft).reason == "wrapped"


def test_the_crafting_keeps_the_signed_assertion_intact(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    """The attacks above are real: the signed assertion cut out and put back is accepted."""
    url, request_id = provider.begin(library(), "pending-1")
    before, signed, after, _ = parts(idp.respond_xml(url))
    again = base64.b64encode((before + signed + after).encode()).decode()
    patron = provider.finish(
        saml_response=again,
        relay_state="pending-1",
        expected_request_id=request_id,
        library=library(),
    )
    assert patron.patron_id == "a1b2c3@uni.test"


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that records every request it gets: an external entity's target."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<!ENTITY secret 'leaked'>")

        def log_message(self, *args: object) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def with_doctype(xml: str, doctype: str, value: str) -> str:
    declaration_end = xml.index("?>") + 2 if xml.startswith("<?xml") else 0
    made = xml[:declaration_end] + doctype + xml[declaration_end:]
    return made.replace("Alice Liddell", value)


def test_an_external_entity_is_refused_and_never_fetched(
    provider: ServiceProvider,
    library: Library,
    idp: IdentityProvider,
    listener: tuple[str, list[str]],
) -> None:
    where, asked = listener
    for doctype, value in (
        (f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{where}/secret">]>', "&xxe;"),
        (f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{where}/dtd"> %p;]>', "&secret;"),
        (f'<!DOCTYPE r SYSTEM "{where}/external.dtd">', "Alice Liddell"),
        ('<!DOCTYPE r [<!ENTITY file SYSTEM "file:///etc/passwd">]>', "&file;"),
    ):
        craft = partial(with_doctype, doctype=doctype, value=value)
        assert post(provider, library, idp, craft).reason == "dtd"
    assert asked == []


def test_entity_expansion_is_refused(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    """Billion laughs: ten levels of ten, 10^9 copies of "lol" from a few hundred bytes."""
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    ]
    doctype = f"<!DOCTYPE r [{''.join(levels)}]>"
    refusal = post(provider, library, idp, lambda xml: with_doctype(xml, doctype, "&lol9;"))
    assert refusal.reason == "dtd"


def test_a_comment_inside_a_value_is_refused(
    provider: ServiceProvider, library: Library, idp: IdentityProvider
) -> None:
    """Canonical XML drops comments, so the signature would still hold; libraries disagree
    on the value's text (the truncation attack on SAML libraries of 2018)."""
    refusal = post(
        provider, library, idp, lambda xml: xml.replace("a1b2c3@uni.test", "a1b2c3<!---->@uni.test")
    )
    assert refusal.reason == "malformed"


@pytest.mark.parametrize(
    "posted",
    [
        "not base64!",
        base64.b64encode(b"<not-xml").decode(),
        base64.b64encode(b"A" * 600_000).decode(),
    ],
)
def test_what_is_not_a_saml_response_is_refused(
    provider: ServiceProvider, library: Library, posted: str
) -> None:
    _, request_id = provider.begin(library(), "pending-1")
    with pytest.raises(Refused) as caught:
        provider.finish(
            saml_response=posted,
            relay_state="pending-1",
            expected_request_id=request_id,
            library=library(),
        )
    assert caught.value.reason == "malformed"
