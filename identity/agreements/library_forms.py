"""A library's form: its directory entry, card prefixes and pattern, PIN format, email domains,
contact, category map (rows of home ILS code and hub category) and connector (a kind, and the
settings of each kind, in a fieldset of its own: only the chosen kind's are kept). The settings
are those of the connector models (``policies.model``: ``Sip2Connector``, ``LdapConnector``,
``SamlConnector``, ``OidcConnector``; a ``registry`` library has none). A library's
``standing`` source is not on the form: it stays as written (the YAML editor changes it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap

from identity.agreements.formfields import Field, Path, Posted, dump, fresh, load, put, shown, write
from identity.agreements.formfields import Kind as Form

CATEGORY_ROWS = 3  # empty rows below a library's category map, for adding codes
ORDER = ("id", "name", "card_prefixes", "card_pattern", "pin_format", "categories", "domains",
         "connector", "contact", "standing")  # fmt: skip
NEW_ID = Field("id", ("id",), "text", "Id",
               "Lower-case letters, digits, . _ and -. It cannot be changed once saved.",
               required=True)  # fmt: skip
FIELDS = (
    Field("name", ("name",), "text", "Name", "Shown to patrons on the sign-in page.",
          required=True),
    Field("card_prefixes", ("card_prefixes",), "words", "Card prefixes",
          "The leading digits of this library's cards, separated by spaces: a card belongs to "
          "the library with the longest prefix it starts with.", default=()),
    Field("card_pattern", ("card_pattern",), "text", "Card pattern",
          "A regular expression (RE2) every card of this library matches in full, like "
          "[0-9]{14}."),
    Field("pin_format", ("pin_format",), "one", "PIN format",
          "What the sign-in form asks for: a numeric keyboard, or a full one.", required=True,
          options="pin_formats", default="text"),
    Field("domains", ("domains",), "words", "Email domains",
          "The domains of its patrons' email addresses, separated by spaces (an address typed "
          "on the sign-in page goes to this library's identity provider).", default=()),
    Field("contact_url", ("contact", "url"), "text", "Web page for help"),
    Field("contact_email", ("contact", "email"), "text", "Email address for help"),
    Field("contact_phone", ("contact", "phone"), "text", "Telephone number for help"),
)  # fmt: skip
KIND = Field("connector_kind", ("connector", "kind"), "one", "How cards are checked",
             "registry: patrons imported into the hub; sip2: the home ILS; ldap: a directory; "
             "saml, oidc: the library's own identity provider signs its patrons in.",
             required=True, options="connector_kinds", default="registry")  # fmt: skip
TITLES = {"sip2": "SIP2", "ldap": "LDAP", "saml": "SAML", "oidc": "OpenID Connect"}


def _c(kind: str, key: str, form: Form, label: str, hint: str = "", **more: Any) -> Field:
    """A setting of connector ``kind``: ``key`` under ``connector`` (``search.base``: nested)."""
    path = ("connector", *key.split("."))
    return Field(f"{kind}_{key.replace('.', '_')}", path, form, label, hint, **more)


_TIMEOUT = "Seconds each question may take (at most 60)."
CONNECTOR_FIELDS: dict[str, tuple[Field, ...]] = {
    "registry": (),
    "sip2": (
        _c("sip2", "host", "text", "Host", "The ILS's SIP2 server.", required=True),
        _c("sip2", "port", "int", "Port", required=True),
        _c("sip2", "institution", "text", "Institution id (AO)", required=True),
        _c("sip2", "user", "text", "SIP2 user"),
        _c("sip2", "password_env", "text", "Environment variable holding the SIP2 password",
           "Set by the hub's operator; never the password itself."),
        _c("sip2", "tls", "bool", "Connect with TLS", default=False),
        _c("sip2", "encoding", "one", "Character encoding", required=True,
           options="encodings", default="cp850"),
        _c("sip2", "expiry_field", "text", "Field holding the card's expiry", default="PA"),
        _c("sip2", "category_field", "text", "Field holding the patron category", default="PC"),
        _c("sip2", "timeout_s", "number", "Timeout", _TIMEOUT, default=5.0),
        _c("sip2", "connections", "int", "Connections per hub process", default=8),
    ),
    "ldap": (
        _c("ldap", "url", "text", "Directory URL", "ldaps://host[:port]", required=True),
        _c("ldap", "start_tls", "bool", "Use StartTLS (for an ldap:// URL)", default=False),
        _c("ldap", "user_dn", "text", "Patron's DN",
           "With {card} for the username: uid={card},ou=people,dc=example,dc=edu. Or give the "
           "search below instead."),
        _c("ldap", "search.base", "text", "Search base"),
        _c("ldap", "search.filter", "text", "Search filter", "Like (uid={card})."),
        _c("ldap", "search.bind_dn", "text", "Service account DN"),
        _c("ldap", "search.password_env", "text",
           "Environment variable holding the service account's password"),
        _c("ldap", "category", "text", "Attribute holding the patron category", required=True),
        _c("ldap", "name", "text", "Attribute holding the patron's name", default="cn"),
        _c("ldap", "expires", "text", "Attribute holding the account's expiry"),
        _c("ldap", "tls_ca", "text", "CA bundle to trust (a file on the hub)"),
        _c("ldap", "timeout_s", "number", "Timeout", _TIMEOUT, default=5.0),
        _c("ldap", "connections", "int", "Connections per hub process", default=8),
    ),
    "saml": (
        _c("saml", "idp", "text", "Identity provider's entityID", required=True),
        _c("saml", "metadata_url", "text", "Metadata URL", "Give this or a metadata file."),
        _c("saml", "metadata_file", "text", "Metadata file (on the hub)"),
        _c("saml", "metadata_cert", "text", "Certificate the metadata is signed with (a file)",
           required=True),
        _c("saml", "patron_id", "text", "Attribute identifying the patron",
           "Empty: subject-id, then pairwise-id, then eduPersonPrincipalName."),
        _c("saml", "category", "text", "Attribute holding the patron category",
           default="eduPersonScopedAffiliation"),
        _c("saml", "name", "text", "Attribute holding the patron's name", default="displayName"),
    ),
    "oidc": (
        _c("oidc", "issuer", "text", "Issuer", "An https URL.", required=True),
        _c("oidc", "client_id", "text", "Client id", required=True),
        _c("oidc", "client_secret_env", "text", "Environment variable holding the client secret",
           "Empty for a public client (PKCE only)."),
        _c("oidc", "scopes", "words", "Scopes", "Separated by spaces; openid among them.",
           default=("openid", "profile")),
        _c("oidc", "patron_id", "text", "Claim identifying the patron", default="sub"),
        _c("oidc", "category", "text", "Claim holding the patron category",
           default="eduperson_scoped_affiliation"),
        _c("oidc", "name", "text", "Claim holding the patron's name", default="name"),
        _c("oidc", "timeout_s", "number", "Timeout", _TIMEOUT, default=5.0),
    ),
}  # fmt: skip
#: where a problem with a whole map belongs
ALIASES: dict[Path, str] = {("connector",): "connector_kind", ("categories",): "categories",
                            ("contact",): "contact_url"}  # fmt: skip


def kind_of(data: Mapping[str, Any] | None) -> str:
    connector = (data or {}).get("connector")
    kind = connector.get("kind") if isinstance(connector, Mapping) else "registry"
    return str(kind) if kind in CONNECTOR_FIELDS else "registry"


def fields_of(kind: str, *, new: bool) -> tuple[Field, ...]:
    """The fields read for a library whose connector is ``kind``."""
    return ((NEW_ID,) if new else ()) + FIELDS + (KIND,) + CONNECTOR_FIELDS[kind]


def library_shown(data: Mapping[str, Any] | None) -> Posted:
    """A library's values as its form shows them: every kind's settings (the kind it has with
    its own values, the others with their defaults) and its category rows."""
    kind = kind_of(data)
    posted = shown(FIELDS + (KIND,) + CONNECTOR_FIELDS[kind], data or {})
    for other, fields in CONNECTOR_FIELDS.items():
        if other != kind:
            posted.update(shown(fields, {}))
    for index, (code, category) in enumerate(categories_shown(data)):
        posted[f"code-{index}"] = [code]
        posted[f"category-{index}"] = [category]
    return posted


def categories_shown(data: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """A library's category map as rows of (code, category), with empty rows to add to."""
    held = (data or {}).get("categories") or {}
    rows = [(str(k), str(v)) for k, v in held.items()] if isinstance(held, Mapping) else []
    return rows + [("", "")] * CATEGORY_ROWS


def category_rows(posted: Posted) -> int:
    return sum(1 for name in posted if name.startswith("code-"))


def categories_read(posted: Posted) -> tuple[dict[str, str], str]:
    """The category map from the rows posted (``code-N``, ``category-N``), and what is wrong."""
    found: dict[str, str] = {}
    for index in range(category_rows(posted)):
        code = (posted.get(f"code-{index}") or [""])[0]
        category = (posted.get(f"category-{index}") or [""])[0].strip()
        if not code.strip() and not category:
            continue
        if not code.strip() or not category:
            return found, f"Row {index + 1}: give both the home system code and the hub category"
        if code in found:
            return found, f"Row {index + 1}: the code {code!r} is in the map twice"
        found[code] = category
    return found, ""


def library_text(
    base: str | None,
    fields: Sequence[Field],
    values: Mapping[str, Any],
    categories: dict[str, str],
) -> str:
    """The mini file of a library with the form's values, written onto ``base`` (its mini
    file as it is), or a new library's (``values["id"]``) when None."""
    if base is None:
        document = fresh("libraries", str(values.get("id") or ""))
    else:
        document = load(base)
    entry = document["libraries"][0]
    order = [(k,) for k in ORDER]
    write(entry, [f for f in fields if f.path[0] not in ("id", "connector")], values, order=order)
    _put_categories(entry, categories)
    kind = str(values.get(KIND.name) or "registry")
    if kind != kind_of(entry):  # another kind: none of the old kind's settings are kept
        connector = CommentedMap()
        connector["kind"] = kind
        connector.fa.set_flow_style()
        put(entry, ("connector",), connector, order=order)
    elif "connector" not in entry and kind != "registry":
        put(entry, ("connector", "kind"), kind, order=order)
    settings = [f for f in fields if f.path[0] == "connector" and f is not KIND]
    write(entry, settings, values, order=[KIND.path, *(f.path for f in settings)])
    return dump(document)


def _put_categories(entry: CommentedMap, categories: dict[str, str]) -> None:
    """Set a library's category map, changing the written map in place (its style kept)."""
    old = entry.get("categories")
    if isinstance(old, CommentedMap):
        if list(old.items()) == list(categories.items()):
            return
        for code in [c for c in old if c not in categories]:
            del old[code]
        for code, category in categories.items():
            old[code] = category
        return
    if categories:
        new = CommentedMap(categories)
        new.fa.set_flow_style()
        put(entry, ("categories",), new, order=[(k,) for k in ORDER])
