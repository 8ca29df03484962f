"""The patron an assertion describes (the SAML V2.0 Subject Identifier Attributes profile;
eduPerson; the REFEDS Research and Scholarship and Personalized Access entity categories).

- **Names.** Attributes are known by their URI (``urn:oid:1.3.6.1.4.1.5923.1.1.1.6``), which
  pysaml2's attribute maps turn into the usual name (``eduPersonPrincipalName``); one the maps
  do not know keeps its URI. A FriendlyName the IdP chose is never trusted for this. The
  connector's ``patron_id``, ``category`` and ``name`` may be given either way.
- **Scopes.** A scoped value (``subject-id``, ``pairwise-id``, ``eduPersonPrincipalName``,
  ``eduPersonScopedAffiliation``, ``eduPersonUniqueId``: ``value@scope``) must carry a scope the
  IdP's metadata lists in ``shibmd:Scope``: an IdP may speak for its own domains only. One value
  outside them refuses the whole answer.
- **The patron's identifier** is the connector's ``patron_id`` attribute, or else the first
  of ``subject-id``, ``pairwise-id`` and ``eduPersonPrincipalName`` released; it must have
  exactly one value. The NameID is never used: it is usually transient, a new one at every
  sign-in.
- **The category** is the value of the ``category`` attribute that comes first in the
  library's ``categories`` map (a patron who is ``member@`` and ``staff@`` is staff if the map
  names ``staff@`` first), or else its first value, or "" without one; the caller maps it.
- **The name** is the ``name`` attribute (by default ``displayName``, then ``cn``, then
  ``givenName`` and ``sn``), or "".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from saml2.attribute_converter import ac_factory

import policies
from identity.patrons.connectors.federated import FederatedPatron
from identity.patrons.connectors.saml.errors import Refused
from identity.patrons.connectors.saml.idp_metadata import Scope

SCOPED = frozenset(
    {
        "subject-id",
        "pairwise-id",
        "eduPersonPrincipalName",
        "eduPersonScopedAffiliation",
        "eduPersonUniqueId",
    }
)
PATRON_IDS = ("subject-id", "pairwise-id", "eduPersonPrincipalName")
MAX_PATRON_ID = 255


@cache
def _converters() -> list[Any]:
    return list(ac_factory())


def released(assertion: Any) -> dict[str, tuple[str, ...]]:
    """Every attribute of the (verified) assertion, by name, with its text values."""
    found: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement or ():
        for attribute in statement.attribute or ():
            name = local_name(attribute.name or "", attribute.name_format)
            values = found.setdefault(name, [])
            for value in attribute.attribute_value or ():
                text = (value.text or "").strip()
                if text:
                    values.append(text)
    return {name: tuple(values) for name, values in found.items()}


def local_name(uri: str, name_format: str | None) -> str:
    """The usual name of the attribute ``uri`` (``eduPersonPrincipalName``), or ``uri``."""
    for converter in _converters():
        if name_format and converter.name_format != name_format:
            continue
        known = converter._fro.get(uri.lower())
        if known:
            return str(known)
    return uri


def patron(
    *,
    library: policies.Library,
    attributes: Mapping[str, Sequence[str]],
    scopes: Sequence[Scope],
) -> FederatedPatron:
    """The ``FederatedPatron`` the released ``attributes`` describe, or ``Refused``."""
    connector = library.connector
    assert connector.kind == "saml"
    for name in SCOPED & attributes.keys():
        for value in attributes[name]:
            user, _, scope = value.partition("@")
            if value.count("@") != 1 or not user or not any(s.allows(scope) for s in scopes):
                raise Refused(
                    "scope", f"{name} {value!r} is outside the identity provider's scopes"
                )
    candidates = (connector.patron_id,) if connector.patron_id else PATRON_IDS
    identifier = next((_values(attributes, n) for n in candidates if _values(attributes, n)), ())
    if len(identifier) != 1 or len(identifier[0]) > MAX_PATRON_ID:
        wanted = " or ".join(candidates)
        raise Refused("no-patron-id", f"the answer has no single {wanted} (got {len(identifier)})")
    return FederatedPatron(
        library=library.id,
        patron_id=identifier[0],
        name=_name(attributes, connector.name),
        category=_category(library, _values(attributes, connector.category)),
        attributes={name: tuple(values) for name, values in attributes.items()},
    )


def _values(attributes: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    """The values of ``name``, given by its usual name or by its URI."""
    return tuple(attributes.get(name) or attributes.get(local_name(name, None)) or ())


def _category(library: policies.Library, values: Sequence[str]) -> str:
    for code in library.categories:
        if code in values:
            return code
    return values[0] if values else ""


def _name(attributes: Mapping[str, Sequence[str]], attribute: str) -> str:
    for value in _values(attributes, attribute):
        return value
    if attribute != "displayName":
        return ""
    for value in _values(attributes, "cn"):
        return value
    parts = [v[0] for v in (_values(attributes, "givenName"), _values(attributes, "sn")) if v]
    return " ".join(parts)
