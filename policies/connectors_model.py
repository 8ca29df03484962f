"""The connectors of the agreement file format (docs/connectors.md), as pydantic models: how the
hub asks a library about its patrons (its own registry, SIP2, LDAP, OpenID Connect or SAML),
and, for a library whose sign-in proves membership only, where their standing (fines, flags,
expiry) comes from. ``policies.model`` has them in ``Library``."""

from __future__ import annotations

import codecs
import ipaddress
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from policies.model_types import Strict, Text, no_duplicates


def _encoding(value: str) -> str:
    try:
        return codecs.lookup(value).name
    except LookupError:
        raise ValueError(f"unknown character encoding {value!r}") from None


class RegistryConnector(Strict):
    """Patrons held by the hub itself, imported from CSV."""

    kind: Literal["registry"]


class Sip2Connector(Strict):
    """The home ILS, asked over SIP2 2.00. Secrets never appear here: only the variable's name."""

    kind: Literal["sip2"]
    host: Annotated[str, StringConstraints(min_length=1, max_length=253, strip_whitespace=True)]
    port: Annotated[StrictInt, Field(ge=1, le=65535)]
    institution: Text
    user: Text | None = None
    password_env: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
        | None
    ) = None
    tls: StrictBool = False
    encoding: Annotated[str, StringConstraints(max_length=32), AfterValidator(_encoding)] = "cp850"
    expiry_field: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]$")] = "PA"
    category_field: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]$")] = "PC"
    timeout_s: Annotated[StrictFloat | StrictInt, Field(gt=0, le=60)] = 5.0
    #: SIP2 connections each hub process keeps to the ILS: also how many questions it asks at once
    connections: Annotated[StrictInt, Field(ge=1, le=32)] = 8

    @model_validator(mode="after")
    def _sip2_safe(self) -> Sip2Connector:
        """The institution (AO, in every 63) and the user (CN, in the 93) are printable ASCII
        with no ``|`` (which would end the field); the encoding is one an ILS is known to use
        and ASCII-compatible, so a ``|`` or CR byte is always that character and the fixed
        fields and field ids read as ASCII."""
        for name, value in (("institution", self.institution), ("user", self.user)):
            if value is not None and not re.fullmatch(r"[\x20-\x7b\x7d\x7e]+", value):
                raise ValueError(f"the SIP2 {name} {value!r} must be printable ASCII without '|'")
        encodings = ("ascii", "cp437", "cp850", "cp1252", "iso8859-1", "utf-8")
        if self.encoding not in encodings:
            raise ValueError(
                f"the SIP2 encoding {self.encoding!r} is not one of {', '.join(encodings)}"
            )
        return self


#: An LDAP attribute: its name (``displayName``, ``eduPersonAffiliation``) or its OID.
LdapAttribute = Annotated[
    str, StringConstraints(pattern=r"^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$", max_length=64)
]
#: A DN or a DN template: printable, at most 1,000 characters.
LdapDn = Annotated[
    str, StringConstraints(min_length=3, max_length=1000, pattern=r"^[^\x00-\x1f\x7f]+$")
]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]
_LDAP_URL = re.compile(r"(ldaps?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:([0-9]{1,5}))?/?")


def _card_template(value: str) -> str:
    if value.count("{card}") != 1:
        raise ValueError(f"{value!r} must hold {{card}} exactly once (where the username goes)")
    return value


class LdapSearch(Strict):
    """How a patron's entry is found: ``filter`` (with the username for ``{card}``) under
    ``base``, searched by the hub's service account ``bind_dn``, whose password is in the
    environment variable ``password_env``."""

    base: LdapDn
    filter: Annotated[LdapDn, AfterValidator(_card_template)]
    bind_dn: LdapDn
    password_env: EnvName

    @model_validator(mode="after")
    def _a_filter(self) -> LdapSearch:
        depth = 0
        for char in self.filter:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                break
        if not (self.filter.startswith("(") and self.filter.endswith(")")) or depth != 0:
            raise ValueError(
                f"the search filter {self.filter!r} must be one LDAP filter in parentheses, "
                "like (uid={card}) or (&(sAMAccountName={card})(objectClass=user))"
            )
        return self


class LdapConnector(Strict):
    """The home library's directory (LDAP, Active Directory): the patron's username and password
    bind there. Passwords go only over TLS (``ldaps://``, or ``start_tls``) unless the directory
    is on this machine (a loopback address)."""

    kind: Literal["ldap"]
    start_tls: StrictBool = False  # before url: url's check reads it
    url: Annotated[str, StringConstraints(max_length=300)]
    #: the patron's DN, ``{card}`` standing for the username: uid={card},ou=people,dc=...
    user_dn: Annotated[LdapDn, AfterValidator(_card_template)] | None = None
    search: LdapSearch | None = None
    name: LdapAttribute = "cn"
    category: LdapAttribute
    expires: LdapAttribute | None = None
    #: a CA bundle (PEM) to trust instead of the system's, for a directory with a private CA
    tls_ca: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    timeout_s: Annotated[StrictFloat | StrictInt, Field(gt=0, le=60)] = 5.0
    #: connections each hub process keeps to the directory for searches (and as many for the
    #: patrons' binds): also how many questions it asks at once
    connections: Annotated[StrictInt, Field(ge=1, le=32)] = 8

    @field_validator("url")
    @classmethod
    def _tls_for_passwords(cls, url: str, info: ValidationInfo) -> str:
        found = _LDAP_URL.fullmatch(url)
        if found is None or (found[4] is not None and not 1 <= int(found[4]) <= 65535):
            raise ValueError(f"{url!r} is not ldaps://HOST[:PORT] or ldap://HOST[:PORT]")
        start_tls = info.data.get("start_tls", False)
        if found[1] == "ldaps" and start_tls:
            raise ValueError(f"{url} is TLS already: start_tls is for an ldap:// URL")
        if found[1] == "ldap" and not start_tls and not loopback(found[2]):
            raise ValueError(
                f"{url} would send patrons' passwords in clear text: use ldaps://, or "
                "start_tls: true (plain ldap:// only to a loopback address)"
            )
        return url

    @model_validator(mode="after")
    def _one_way_to_the_entry(self) -> LdapConnector:
        if (self.user_dn is None) == (self.search is None):
            raise ValueError(
                "give the patron's DN as user_dn (uid={card},ou=people,...) or how to find it "
                "as search (base, filter, bind_dn, password_env), not both"
                if self.user_dn
                else "give user_dn (the patron's DN, uid={card},ou=people,...) or search "
                "(base, filter, bind_dn, password_env)"
            )
        return self

    @property
    def host(self) -> str:
        found = _LDAP_URL.fullmatch(self.url)
        assert found is not None
        return found[2].strip("[]")

    @property
    def port(self) -> int:
        found = _LDAP_URL.fullmatch(self.url)
        assert found is not None
        return int(found[4]) if found[4] else 636 if found[1] == "ldaps" else 389

    @property
    def ldaps(self) -> bool:
        return self.url.startswith("ldaps:")


def loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 in brackets or not) is this machine."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _issuer(value: str) -> str:
    """OpenID Connect Discovery 3: an https URL with no query or fragment; plain http only on
    this machine (a test IdP). Kept exactly as written: the provider's ``iss`` must equal it."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"the issuer must be an https URL, not {value!r}")
    if parts.scheme == "http" and not loopback(parts.hostname):
        raise ValueError(f"the issuer must be an https URL (http only on loopback), not {value!r}")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError(f"the issuer has no query or fragment: {value!r}")
    return value


def _with_openid(scopes: tuple[str, ...]) -> tuple[str, ...]:
    if "openid" not in scopes:
        raise ValueError("scopes must include openid")
    return scopes


#: A claim's name as the provider spells it (``sub``, ``eduperson_scoped_affiliation``, a URI).
ClaimName = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]+$", max_length=200)]
#: RFC 6749 3.3 scope-token
Scope = Annotated[str, StringConstraints(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$", max_length=100)]


class OidcConnector(Strict):
    """The library's OpenID Connect provider signs its patrons in; the hub is one of its
    relying parties (docs/connectors.md). The client secret is never here: only the name of the
    environment variable that holds it."""

    kind: Literal["oidc"]
    issuer: Annotated[str, StringConstraints(max_length=500), AfterValidator(_issuer)]
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    #: None: a public client (PKCE only), for a provider that registers the hub so
    client_secret_env: EnvName | None = None
    scopes: Annotated[
        tuple[Scope, ...], AfterValidator(no_duplicates), AfterValidator(_with_openid)
    ] = ("openid", "profile")
    #: the claim that identifies the patron (in place of a card number)
    patron_id: ClaimName = "sub"
    #: the claim whose value (or values) go through the library's ``categories`` map
    category: ClaimName = "eduperson_scoped_affiliation"
    name: ClaimName = "name"
    #: how long each request to the provider may take (discovery, keys, token, userinfo)
    timeout_s: Annotated[StrictFloat | StrictInt, Field(gt=0, le=60)] = 5.0


#: A SAML attribute: its URI name (``urn:oid:1.3.6.1.4.1.5923.1.1.1.6``) or the FriendlyName
#: the hub's attribute maps know it by (``eduPersonPrincipalName``, ``subject-id``)
SamlAttribute = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9._:/#-]*$", max_length=256)
]
#: A file on the hub's machine (absolute, or relative to the directory the hub runs in)
FilePath = Annotated[
    str, StringConstraints(min_length=1, max_length=1024, pattern=r"^[^\x00-\x1f]+$")
]


def _entity_id(value: str) -> str:
    """A SAML entityID: a URI of at most 1024 characters with no spaces (SAML core 8.3.6)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+", value) or len(value) > 1024:
        raise ValueError(
            f"{value!r} is not a SAML entityID (a URI such as https://idp.example.edu/idp/shibboleth)"
        )
    return value


def _metadata_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value) or len(value) > 2000:
        raise ValueError(f"metadata_url must be an http or https URL, not {value!r}")
    return value


class SamlConnector(Strict):
    """The library's SAML 2.0 identity provider; the hub is one service provider for all of
    them. The IdP's metadata (its own, or a federation's aggregate naming it) must be signed
    with the certificate in ``metadata_cert``."""

    kind: Literal["saml"]
    idp: Annotated[str, AfterValidator(_entity_id)]
    metadata_url: Annotated[str, AfterValidator(_metadata_url)] | None = None
    metadata_file: FilePath | None = None
    metadata_cert: FilePath
    #: the attribute that identifies the patron; None: subject-id, then pairwise-id, then
    #: eduPersonPrincipalName (never the NameID, which is usually transient)
    patron_id: SamlAttribute | None = None
    #: the attribute whose value goes through the library's ``categories`` map
    category: SamlAttribute = "eduPersonScopedAffiliation"
    name: SamlAttribute = "displayName"

    @model_validator(mode="after")
    def _one_source(self) -> SamlConnector:
        if (self.metadata_url is None) == (self.metadata_file is None):
            raise ValueError("give exactly one of metadata_url and metadata_file")
        return self


Connector = Annotated[
    RegistryConnector | Sip2Connector | LdapConnector | SamlConnector | OidcConnector,
    Field(discriminator="kind"),
]


# --- where a federated library's patrons' standing comes from ---------------------------

#: the attribute or claim of a patron's sign-in whose value is their card at the standing source
MatchName = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]+$", max_length=256)]


class RegistryStanding(RegistryConnector):
    """The hub's own registry holds the library's patrons' fines, flags and expiry (imported
    from CSV); the card is the value of the patron's ``match`` attribute or claim."""

    match: MatchName


class Sip2Standing(Sip2Connector):
    """The library's ILS, asked over SIP2 as for a ``sip2`` library (the same settings), about
    the card in the patron's ``match`` attribute or claim."""

    match: MatchName


class LdapStanding(LdapConnector):
    """A directory, searched with the service account (``search``) for the value of the
    patron's ``match`` attribute or claim: expiry from ``expires``, Active Directory's disabled
    and expired accounts, and, when named, fines from ``fines`` (a number) and flags from
    ``flags`` (the flag names of docs/agreements.md, one value each)."""

    match: MatchName
    category: LdapAttribute = "cn"  # not read: the sign-in gives the category
    fines: LdapAttribute | None = None
    flags: LdapAttribute | None = None

    @model_validator(mode="after")
    def _searched(self) -> LdapStanding:
        if self.search is None:
            raise ValueError(
                "a standing source is searched with a service account: give search (base, "
                "filter, bind_dn, password_env), not user_dn"
            )
        return self


StandingSource = Annotated[
    RegistryStanding | Sip2Standing | LdapStanding, Field(discriminator="kind")
]
#: the connectors whose sign-in proves membership only, and which may name a standing source
FEDERATED_KINDS = ("saml", "oidc", "ldap")
