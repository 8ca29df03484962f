"""A home library's directory for the tests: OpenLDAP's ``slapd`` (Debian's package), started
from a generated ``slapd.conf`` with an mdb database loaded by ``slapadd``, on free ports of
127.0.0.1: ``ldap://`` (with StartTLS) and ``ldaps://`` (also on 127.0.0.2, whose address the
server's certificate does not name). Its certificate is signed by a CA made here, which
``tls_ca`` names; the system's trust store does not know it.

The directory holds the patrons below, some ``inetOrgPerson`` with a category and an expiry
of a small test schema, some with Active Directory's ``sAMAccountName``,
``userAccountControl`` and ``accountExpires`` (that schema gives them AD's OIDs), and the
hub's service account, which may read everyone's entry but no one's password. slapd logs every
connection and operation (``loglevel stats``, never a password): ``log`` and ``since`` read it,
so the tests can show what reached the directory and what never did.
"""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import subprocess
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import certificates

SLAPD, SLAPADD = Path("/usr/sbin/slapd"), Path("/usr/sbin/slapadd")
SUFFIX = "dc=example,dc=edu"
PEOPLE = f"ou=people,{SUFFIX}"
SERVICE_DN = f"cn=hub,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-account-secret"
SERVICE_ENV = "HUB_TEST_LDAP_PASSWORD"
#: a FILETIME (100 ns ticks since 1601) for an instant
EPOCH_1601 = datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)


def filetime(instant: datetime.datetime) -> int:
    return (instant - EPOCH_1601) // datetime.timedelta(microseconds=1) * 10


@dataclass(frozen=True)
class Person:
    uid: str
    password: str
    name: str
    categories: tuple[str, ...] = ()
    expires: str | None = None  # hubExpires, a GeneralizedTime
    ad: dict[str, str] = field(default_factory=dict)  # Active Directory's attributes
    ou: str = "people"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def rdn_value(self) -> str:
        return self.uid.replace("\\", "\\\\").replace(",", "\\,").replace("+", "\\+")

    @property
    def dn(self) -> str:
        return f"uid={self.rdn_value},ou={self.ou},{SUFFIX}"


ADA = Person("ada", "ada-secret", "Ada Lovelace", ("UG",), "20991231235959Z")
GRACE = Person("grace", "grace-secret", "Grace Hopper", ("member", "staff"))
#: usernames with the characters of LDAP filters and DNs in them, who can sign in all the same
STAR = Person("o*(x)", "star-secret", "Star Paren", ("UG",))
COMMA = Person("comma,name", "comma-secret", "Comma Name", ("UG",))
NOCAT = Person("nocat", "nocat-secret", "No Category")
BADEXPIRY = Person("badexpiry", "bad-secret", "Bad Expiry", ("UG",), extra={"description": "soon"})
TWIN = Person("twin", "twin-secret", "Twin One", ("UG",))
TWIN_TOO = Person("twin", "twin-secret", "Twin Two", ("UG",), ou="staff")
_FUTURE = filetime(datetime.datetime(2099, 7, 1, tzinfo=datetime.UTC))
_PAST = filetime(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))


def _ad(control: int, expires: int) -> dict[str, str]:
    return {"userAccountControl": str(control), "accountExpires": str(expires)}


AD_ACTIVE = Person("jsmith", "jsmith-secret", "J Smith", ("student",), ad=_ad(512, 0))
AD_NEVER = Person("never", "never-secret", "Never Ends", ("staff",), ad=_ad(66048, 2**63 - 1))
AD_FUTURE = Person("future", "future-secret", "Fu Ture", ("student",), ad=_ad(512, _FUTURE))
AD_DISABLED = Person("disabled", "disabled-secret", "Dis Abled", ("student",), ad=_ad(514, 0))
AD_EXPIRED = Person("expired", "expired-secret", "Ex Pired", ("student",), ad=_ad(512, _PAST))
#: a directory that is a standing source keeps fines and flags in attributes of its choosing
OWES = Person("owes", "owes-secret", "Owen Owes", ("UG",), "20991231235959Z",
              extra={"employeeNumber": "25.50", "employeeType": "charge_denied"})  # fmt: skip
PEOPLE_OF_THE_DIRECTORY = (ADA, GRACE, STAR, COMMA, NOCAT, BADEXPIRY, TWIN, TWIN_TOO,
                           AD_ACTIVE, AD_NEVER, AD_FUTURE, AD_DISABLED, AD_EXPIRED,
                           OWES)  # fmt: skip

SCHEMA = """\
attributetype ( 2.25.1729.1 NAME 'hubCategory'
    EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 2.25.1729.2 NAME 'hubExpires'
    EQUALITY generalizedTimeMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
    EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.159 NAME 'accountExpires'
    EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
    EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 2.25.1729.3 NAME 'hubPatron' AUXILIARY
    MAY ( hubCategory $ hubExpires $ userAccountControl $ accountExpires $ sAMAccountName ) )
"""


def _ldif() -> str:
    parts = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\n"
        "o: Example University\n",
        *(
            f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n"
            for ou in ("people", "staff", "services")
        ),  # fmt: skip
        f"dn: {SERVICE_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\n"
        f"cn: hub\nuserPassword: {SERVICE_PASSWORD}\n",
    ]
    for person in PEOPLE_OF_THE_DIRECTORY:
        lines = [
            f"dn: {person.dn}",
            "objectClass: inetOrgPerson",
            "objectClass: hubPatron",
            f"uid: {person.uid}",
            f"cn: {person.name}",
            f"sn: {person.name.split()[-1]}",
            f"userPassword: {person.password}",
            *(f"hubCategory: {c}" for c in person.categories),
            *([f"hubExpires: {person.expires}"] if person.expires else []),
            *(f"{k}: {v}" for k, v in {**person.ad, **person.extra}.items()),
        ]
        if person.ad:
            lines.append(f"sAMAccountName: {person.uid}")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _certificates(root: Path) -> Path:
    """A CA, and the server's certificate for 127.0.0.1 and localhost; returns the CA's file."""
    return certificates.issue(root, "Example University Test CA") / "ca.pem"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Slapd:
    root: Path
    port: int  # ldap:// (and StartTLS)
    tls_port: int  # ldaps://
    ca: Path  # the CA that signed the server's certificate
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def make(cls, root: Path) -> Slapd:
        """A directory in ``root``, configured and loaded, not started."""
        for program in (SLAPD, SLAPADD):
            if not program.is_file():
                reason = f"OpenLDAP's {program.name} is not installed: apt-get install slapd"
                if os.environ.get("HUB_REQUIRE_SLAPD") == "1":
                    pytest.fail(reason)
                pytest.skip(reason)
        root.mkdir(parents=True, exist_ok=True)
        ca = _certificates(root)
        (root / "db").mkdir()
        (root / "test.schema").write_text(SCHEMA)
        (root / "slapd.conf").write_text(
            textwrap.dedent(f"""\
                include /etc/ldap/schema/core.schema
                include /etc/ldap/schema/cosine.schema
                include /etc/ldap/schema/inetorgperson.schema
                include {root}/test.schema
                pidfile {root}/slapd.pid
                modulepath /usr/lib/ldap
                moduleload back_mdb
                loglevel stats
                disallow bind_anon
                TLSCACertificateFile {root}/ca.pem
                TLSCertificateFile {root}/server.pem
                TLSCertificateKeyFile {root}/server.key
                database mdb
                maxsize 16777216
                suffix "{SUFFIX}"
                directory {root}/db
                access to attrs=userPassword by anonymous auth by * none
                access to * by dn.exact="{SERVICE_DN}" read by self read by * none
            """)
        )
        (root / "people.ldif").write_text(_ldif())
        subprocess.run(
            [SLAPADD, "-q", "-f", root / "slapd.conf", "-l", root / "people.ldif"],
            check=True,
            capture_output=True,
        )
        return cls(root, _free_port(), _free_port(), ca)

    def start(self) -> Slapd:
        urls = (
            f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.tls_port}/ "
            f"ldaps://127.0.0.2:{self.tls_port}/"
        )
        with (self.root / "slapd.log").open("ab") as log:
            self.process = subprocess.Popen(
                [SLAPD, "-f", self.root / "slapd.conf", "-h", urls, "-d", "stats"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                socket.create_connection(("127.0.0.1", self.tls_port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"slapd did not start:\n{self.log()}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, scheme: str = "ldaps", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.tls_port if scheme == 'ldaps' else self.port}"

    # --- what reached the directory ---------------------------------------------------------

    def log(self) -> str:
        return (self.root / "slapd.log").read_text(errors="replace")

    def mark(self) -> int:
        return len(self.log())

    def since(self, mark: int, *, until: str | None = None) -> str:
        """The log after ``mark``; with ``until``, once a line holding it has been written
        (slapd logs a result just after sending it)."""
        deadline = time.monotonic() + 5
        while True:
            text = self.log()[mark:]
            if until is None or until in text or time.monotonic() > deadline:
                return text
            time.sleep(0.01)
