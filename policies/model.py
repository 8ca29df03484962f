"""The agreement file format (docs/agreements.md): libraries and agreements, as pydantic models.

Every model forbids unknown keys (a typo is an error, never ignored) and is strict about types
(``max_items: true`` is not 1). Files are YAML 1.2: ``no`` and ``on`` are strings, not booleans.

The field types the models share are kept in ``policies.model_types``, the connectors (and the
standing sources) in ``policies.connectors_model``; this module has every name of the format.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from policies.cards import check_pattern
from policies.connectors_model import (
    FEDERATED_KINDS,
    ClaimName,
    Connector,
    EnvName,
    FilePath,
    LdapAttribute,
    LdapConnector,
    LdapDn,
    LdapSearch,
    LdapStanding,
    MatchName,
    OidcConnector,
    RegistryConnector,
    RegistryStanding,
    SamlAttribute,
    SamlConnector,
    Scope,
    Sip2Connector,
    Sip2Standing,
    StandingSource,
    loopback,
)
from policies.model_types import (
    CODE_MAX,
    FLAGS,
    ID_PATTERN,
    REASON_MAX,
    TEXT_MAX,
    Count,
    Day,
    Domains,
    Flag,
    Flags,
    Id,
    Ids,
    Materials,
    Money,
    Strict,
    Text,
    no_duplicates,
)

__all__ = [
    "AGREEMENT",
    "Agreement",
    "Bilateral",
    "CODE_MAX",
    "ClaimName",
    "Connector",
    "Consortium",
    "Contact",
    "Count",
    "Day",
    "Domains",
    "Effective",
    "EnvName",
    "FEDERATED_KINDS",
    "FILE_KEYS",
    "FLAGS",
    "FilePath",
    "Flag",
    "Flags",
    "ID_PATTERN",
    "Id",
    "Ids",
    "LIBRARY",
    "LdapAttribute",
    "LdapConnector",
    "LdapDn",
    "LdapSearch",
    "LdapStanding",
    "Library",
    "MatchName",
    "Materials",
    "Money",
    "NETWORK",
    "Network",
    "OidcConnector",
    "REASON_MAX",
    "RegistryConnector",
    "RegistryStanding",
    "SECTIONS",
    "SamlAttribute",
    "SamlConnector",
    "Scope",
    "Sip2Connector",
    "Sip2Standing",
    "Standing",
    "StandingSource",
    "Strict",
    "Suspension",
    "TEXT_MAX",
    "Terms",
    "Text",
    "loopback",
]


# --- libraries -----------------------------------------------------------------------------


def _web_address(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value) or len(value) > 500:
        raise ValueError(f"the contact url must be an http or https URL, not {value!r}")
    return value


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) or len(value) > 254:
        raise ValueError(f"{value!r} is not an email address")
    return value


class Contact(Strict):
    """Where a library's own patrons get help: shown to them in the advice of a refusal."""

    url: Annotated[str, AfterValidator(_web_address)] | None = None
    email: Annotated[str, AfterValidator(_email)] | None = None
    phone: (
        Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ().-]{2,30}$", max_length=32)]
        | None
    ) = None

    @model_validator(mode="after")
    def _something(self) -> Contact:
        if self.url is None and self.email is None and self.phone is None:
            raise ValueError("give at least one of url, email and phone")
        return self


class Library(Strict):
    """A library: its directory entry, how its cards look, its category map and its connector;
    for a library that signs its patrons in itself, where their standing comes from."""

    id: Id
    name: Text
    card_prefixes: Annotated[
        tuple[Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]+$", max_length=32)], ...],
        AfterValidator(no_duplicates),
    ] = ()
    #: home ILS category code -> hub category (codes are taken exactly as written: "UG " and
    #: "UG" are different codes, never merged)
    categories: dict[Annotated[str, StringConstraints(min_length=1, max_length=CODE_MAX)], Id] = (
        Field(default_factory=dict)
    )
    #: the domains of its patrons' email addresses: typed on the sign-in page, an address
    #: sends the patron to this library's identity provider (unique across the set)
    domains: Domains = ()
    connector: Connector = RegistryConnector(kind="registry")
    #: the regular expression (RE2) a card of this library matches in full; see policies.cards
    card_pattern: Annotated[str, AfterValidator(check_pattern)] | None = None
    #: what the sign-in form asks for: a numeric keyboard for the PIN, or a full one
    pin_format: Literal["numeric", "text"] = "text"
    #: where this library's patrons get help (shown to them when a lender refuses them)
    contact: Contact | None = None
    #: where fines, flags and expiry come from, for a ``saml``, ``oidc`` or ``ldap`` library
    standing: StandingSource | None = None

    def hub_category(self, code: str) -> str | None:
        """The hub category that this library's ILS code ``code`` maps to, if any."""
        return self.categories.get(code)


# --- agreements ----------------------------------------------------------------------------


class Effective(Strict):
    """Inclusive dates; either may be absent (open-ended)."""

    model_config = ConfigDict(populate_by_name=False)

    from_: Day | None = Field(default=None, alias="from")
    until: Day | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.from_ is not None and self.until is not None and self.until < self.from_:
            raise ValueError(f"'until' {self.until} is before 'from' {self.from_}")
        return self


class Standing(Strict):
    """What the patron's home record must show: fines at most ``max_fines``, a card not expired,
    none of ``blocking_flags``; with ``requires_standing_source``, that record must be known (a
    patron whose library's identity provider proved membership only is not admitted)."""

    max_fines: Money | None = None
    card_must_be_valid: StrictBool = True
    blocking_flags: Flags = ()
    requires_standing_source: StrictBool = False


class Terms(Strict):
    """What the lender offers a patron admitted under the agreement."""

    max_items: Annotated[StrictInt, Field(ge=1)]
    loan_days: Annotated[StrictInt, Field(ge=1)]
    renewals: Count = 0
    holds: Count = 0
    excluded_material: Materials = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "max_items": self.max_items,
            "loan_days": self.loan_days,
            "renewals": self.renewals,
            "holds": self.holds,
            "excluded_material": list(self.excluded_material),
        }


class _Agreement(Strict):
    id: Id
    name: Text | None = None
    effective: Effective = Effective()


class Consortium(_Agreement):
    """Every member lends to every other member."""

    kind: Literal["consortium"]
    members: Annotated[Ids, Field(min_length=2)]
    categories: Annotated[Ids, Field(min_length=1)]
    standing: Standing = Standing()
    terms: Terms


class Bilateral(_Agreement):
    """One way: ``lender`` lends to patrons of each library in ``borrowers_from``."""

    kind: Literal["bilateral"]
    lender: Id
    borrowers_from: Annotated[Ids, Field(min_length=1)]
    categories: Annotated[Ids, Field(min_length=1)]
    standing: Standing = Standing()
    terms: Terms


class Suspension(_Agreement):
    """``lender`` stops lending to patrons of ``borrowers_from`` (only ``categories``, if given)."""

    kind: Literal["suspension"]
    lender: Id
    borrowers_from: Annotated[Ids, Field(min_length=1)]
    categories: Annotated[Ids, Field(min_length=1)] | None = None
    #: why, for administrators and staff only: never shown to patrons
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=REASON_MAX, strip_whitespace=True)
    ]
    #: what patrons may read about it (without one, they are told only that it is suspended)
    public_note: (
        Annotated[
            str, StringConstraints(min_length=1, max_length=REASON_MAX, strip_whitespace=True)
        ]
        | None
    ) = None


Agreement = Annotated[Consortium | Bilateral | Suspension, Field(discriminator="kind")]


# --- the network ---------------------------------------------------------------------------


def _currency(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ValueError(f"the currency is an ISO 4217 code in capitals, like AUD, not {value!r}")
    return value


class Network(Strict):
    """What holds for the whole network, set in one file of a set: the ``currency`` fines are
    owed in (an ISO 4217 code, e.g. ``AUD``) and names for material ids (``av: Audio-visual
    material``) that patrons read in place of the ids."""

    currency: Annotated[str, AfterValidator(_currency)] | None = None
    materials: dict[Id, Text] = Field(default_factory=dict)


LIBRARY = TypeAdapter(Library)
AGREEMENT: TypeAdapter[Consortium | Bilateral | Suspension] = TypeAdapter(Agreement)
NETWORK = TypeAdapter(Network)
#: The keys a file may have at its top level.
FILE_KEYS = ("libraries", "agreements", "network")
#: The keys that hold lists of entries.
SECTIONS = ("libraries", "agreements")
