"""3M Standard Interchange Protocol, version 2.00: the messages the hub sends and reads.

Sent: 93 Login, 99 SC Status, 23 Patron Status, 63 Patron Information, 97 Request ACS Resend.
Read: 94 Login Response, 98 ACS Status, 24 Patron Status Response, 64 Patron Information
Response, 96 Request SC Resend.

Error detection (spec section "Error detection"): every message the hub sends carries ``AY``
(a sequence number, 0-9) and ``AZ`` (a checksum): the 16-bit two's complement of the sum of the
message's bytes up to and including ``AZ``, as 4 hex digits. Every reply must carry a checksum
that verifies; a reply without one is treated as a bad one.

Parsing is tolerant of what real ILSes send (a missing final ``|``, unknown and vendor fields, a
blank ``AE``, a CR LF line end) and strict about the rest: fixed fields must have their exact
shape, so a shifted or truncated reply is ``Garbled``, never a patron; an ``AY`` or ``AZ``
anywhere but in the trailer is ``Garbled``. The command, fixed part and field ids are ASCII;
field values are decoded one by one in the configured encoding (an ASCII-compatible one, so a
``|`` byte is always a delimiter). A value that does not decode does not fail the whole reply:
it is kept (with U+FFFD) and marked, and ``Reply.only`` refuses it as a ``BadRecord``, as it
does a field that appears more than once (``AEEve|CQY|BLY|CQN|`` must not sign anyone in).
Every value is read in Unicode NFC (docs/connectors.md: Evergreen sends names and category codes
decomposed), so what the ILS says compares equal to what agreement files and forms say.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from identity.patrons.connectors.sip2.errors import BadRecord, Garbled
from policies.model import FLAGS as FLAG_NAMES

#: The 14 positions of the patron status field, by their docs/agreements.md names (the model lists
#: them in SIP2 order, then ``blocked``, which is the registry's own)
FLAGS: tuple[str, ...] = FLAG_NAMES[:14]

LANGUAGE = "001"  # English
MAX_FIELD = 255  # bytes, per the spec's variable-length fields

_STATUS = r"[YN ]{14}"  # Y: the flag is set (N is not in the spec, but some ILSes send it)
_DATE = r"[0-9]{8}[0-9A-Z ]{4}[0-9]{6}"
_COUNT = r"[0-9 ]{4}"
#: command -> the shape of its fixed-length fields
_FIXED: dict[str, re.Pattern[str]] = {
    "94": re.compile(r"[01]"),
    "96": re.compile(""),
    "98": re.compile(rf"[YN]{{6}}[0-9]{{3}}[0-9]{{3}}{_DATE}[0-9]\.[0-9]{{2}}"),
    "24": re.compile(rf"{_STATUS}[0-9]{{3}}{_DATE}"),
    "64": re.compile(rf"{_STATUS}[0-9]{{3}}{_DATE}{_COUNT * 6}"),
}
_WIDTH = {"94": 1, "96": 0, "98": 34, "24": 35, "64": 59}
_FIELD_ID = re.compile(rb"[A-Za-z0-9]{2}")
_HEX = re.compile(rb"[0-9A-Fa-f]{4}")


class BadChecksum(Garbled):
    """A reply whose checksum is missing or wrong: worth asking for again (97)."""


@dataclass(frozen=True, slots=True)
class Reply:
    command: str
    fixed: str
    sequence: int | None
    fields: dict[str, list[str]] = field(default_factory=dict)
    #: the ids of fields with a value that is not in the configured encoding
    undecodable: frozenset[str] = frozenset()

    def first(self, field_id: str) -> str | None:
        """The first value of a field, or None when the reply does not have it (for display
        only: a value that did not decode holds U+FFFD)."""
        values = self.fields.get(field_id)
        return values[0] if values else None

    def only(self, field_id: str) -> str | None:
        """The value of a field that may appear once, or None when the reply does not have it.
        Raises ``BadRecord`` when it appears more than once or does not decode."""
        values = self.fields.get(field_id)
        if not values:
            return None
        if len(values) > 1:
            raise BadRecord(f"a {self.command} with {field_id} {len(values)} times")
        if field_id in self.undecodable:
            raise BadRecord(f"a {self.command} whose {field_id} is not in the configured encoding")
        return values[0]

    def flags(self) -> frozenset[str]:
        """The names of the set patron status flags (24 and 64 only)."""
        return frozenset(name for name, c in zip(FLAGS, self.fixed[:14], strict=True) if c == "Y")


def checksum(data: bytes) -> str:
    """The AZ value for a message whose bytes up to and including ``AZ`` are ``data``."""
    return f"{-sum(data) & 0xFFFF:04X}"


def frame(body: str, *, sequence: int | None, encoding: str) -> bytes:
    """``body`` with its error-detection trailer and CR, ready to send. ``sequence`` is None
    only for 97, which carries no AY."""
    trailer = "AZ" if sequence is None else f"AY{sequence}AZ"
    data = body.encode(encoding) + trailer.encode("ascii")
    return data + checksum(data).encode("ascii") + b"\r"


def sendable(value: str, encoding: str) -> bool:
    """Whether ``value`` can go in a field as it is: nothing that ends a field or a message
    (so a card or PIN can never add fields of its own), and short enough once encoded."""
    if any(c in value for c in "|\r\n\0"):
        return False
    try:
        return len(value.encode(encoding)) <= MAX_FIELD
    except UnicodeEncodeError:
        return False


def timestamp(now: datetime) -> str:
    """The 18-character SIP2 date: YYYYMMDD, a blank time zone (local time), HHMMSS."""
    return now.strftime("%Y%m%d") + "    " + now.strftime("%H%M%S")


# --- requests --------------------------------------------------------------------------------


def login(*, user: str, password: str, location: str | None = None) -> str:
    """93: plain-text user id (CN) and password (CO) of the hub's terminal account."""
    return "9300" + f"CN{user}|CO{password}|" + (f"CP{location}|" if location else "")


def sc_status() -> str:
    """99: status OK, 80-column printer, protocol 2.00."""
    return "990" + "080" + "2.00"


def patron_status(*, institution: str, card: str, pin: str | None, now: datetime) -> str:
    """23: AD is always sent (blank without a PIN), as some ACSes require it."""
    return "23" + LANGUAGE + timestamp(now) + f"AO{institution}|AA{card}|AC|AD{pin or ''}|"


def patron_information(*, institution: str, card: str, pin: str | None, now: datetime) -> str:
    """63 with no item summary; AD only when there is a PIN to check."""
    body = "63" + LANGUAGE + timestamp(now) + " " * 10 + f"AO{institution}|AA{card}|AC|"
    return body + (f"AD{pin}|" if pin is not None else "")


RESEND = "97"


# --- replies ---------------------------------------------------------------------------------


def parse(data: bytes, *, encoding: str) -> Reply:
    """One reply (with or without its CR), checked and split into fields. Raises
    ``BadChecksum`` for a missing or wrong checksum and ``Garbled`` for anything else amiss."""
    data = data.strip(b"\r\n")
    if len(data) < 6 or data[-6:-4] != b"AZ" or not _HEX.fullmatch(data[-4:]):
        raise BadChecksum("a reply without a checksum")
    if (sum(data[:-4]) + int(data[-4:], 16)) & 0xFFFF:
        raise BadChecksum("a reply with a wrong checksum")
    payload, sequence = data[:-6], None
    if len(payload) >= 3 and payload[-3:-1] == b"AY" and payload[-1:].isdigit():
        payload, sequence = payload[:-3], int(payload[-1:])
    if b"\0" in payload:
        raise Garbled("a reply with a NUL byte")
    command = payload[:2].decode("ascii", errors="replace")
    shape = _FIXED.get(command)
    if shape is None:
        raise Garbled(f"an unexpected message {command!r}")
    width = _WIDTH[command]
    fixed = payload[2 : 2 + width].decode("ascii", errors="replace")
    if not shape.fullmatch(fixed):
        raise Garbled(f"a {command} whose fixed fields are malformed")
    fields: dict[str, list[str]] = {}
    undecodable: set[str] = set()
    for chunk in payload[2 + width :].split(b"|"):
        if not chunk:
            continue  # "||", or the final delimiter
        if not _FIELD_ID.fullmatch(chunk[:2]):
            raise Garbled(f"a {command} with a malformed field")
        field_id = chunk[:2].decode("ascii")
        if field_id in ("AY", "AZ"):
            raise Garbled(f"a {command} with {field_id} before its trailer")
        try:
            value = unicodedata.normalize("NFC", chunk[2:].decode(encoding))
        except UnicodeError:
            value = chunk[2:].decode(encoding, errors="replace")
            undecodable.add(field_id)
        fields.setdefault(field_id, []).append(value)
    return Reply(
        command=command,
        fixed=fixed,
        sequence=sequence,
        fields=fields,
        undecodable=frozenset(undecodable),
    )
