"""Problems in words: pydantic's validation errors turned into sentences that name the entry,
the key and what is allowed (``unknown key 'loan_day'; did you mean 'loan_days'?``), with the
path into the YAML data where each belongs."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from policies.model import (
    FLAGS,
    Bilateral,
    Consortium,
    Contact,
    Effective,
    LdapConnector,
    LdapSearch,
    Library,
    Network,
    OidcConnector,
    RegistryConnector,
    SamlConnector,
    Sip2Connector,
    Standing,
    Suspension,
    Terms,
)
from policies.validate import Path as ItemPath

_NESTED: dict[str, type[BaseModel]] = {
    "effective": Effective,
    "standing": Standing,
    "terms": Terms,
    "contact": Contact,
}
_KINDS: dict[str, type[BaseModel]] = {
    "consortium": Consortium,
    "bilateral": Bilateral,
    "suspension": Suspension,
    "registry": RegistryConnector,
    "sip2": Sip2Connector,
    "ldap": LdapConnector,
    "oidc": OidcConnector,
    "saml": SamlConnector,
}


def data_path(item: Any, loc: tuple[int | str, ...]) -> tuple[ItemPath, bool]:
    """Pydantic's ``loc`` as a path into the YAML data: without the union tags pydantic inserts
    (``('consortium', 'terms')``) and with ``[key]`` turned into "the key itself"."""
    path: list[str | int] = []
    at_key = False
    current = item
    for part in loc:
        if part == "[key]":
            at_key = True
            continue
        if isinstance(current, dict) and part not in current and current.get("kind") == part:
            continue
        path.append(part)
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            current = None
    return tuple(path), at_key


def _model_at(section: str, item: Any, parent: ItemPath) -> type[BaseModel] | None:
    if not isinstance(item, dict):
        return None
    if section == "network":
        return Network if not parent else None
    if not parent:
        return Library if section == "libraries" else _KINDS.get(item.get("kind", ""))
    if len(parent) == 1 and parent[0] == "connector":
        connector = item.get("connector")
        return _KINDS.get(connector.get("kind", "")) if isinstance(connector, dict) else None
    if parent == ("connector", "search"):
        return LdapSearch
    return _NESTED.get(str(parent[0])) if len(parent) == 1 else None


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def unknown_key(key: object, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if key == "password":
        return (
            "unknown key 'password': secrets never go in agreement files; put the password in an "
            "environment variable and give its name as password_env"
        )
    if key == "client_secret":
        return (
            "unknown key 'client_secret': secrets never go in agreement files; put the secret in "
            "an environment variable and give its name as client_secret_env"
        )
    guess = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"did you mean {guess[0]!r}? " if guess else ""
    return f"unknown key {key!r}; {hint}allowed: {', '.join(allowed)}"


def message_for(section: str, item: Any, path: ItemPath, error: ErrorDetails) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        model = _model_at(section, item, path[:-1])
        return unknown_key(path[-1], _keys(model) if model else ())
    if kind == "missing":
        return f"missing required key {path[-1]!r}" if path else "missing required key"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return f"unknown kind {ctx.get('tag')!r}; expected {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "missing required key 'kind'"
    if kind == "literal_error" and len(path) >= 2 and path[-2] == "blocking_flags":
        return f"unknown flag {error['input']!r}; the flags are: {', '.join(FLAGS)}"
    if kind == "model_type":
        return "expected a mapping"
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{msg} (got {_shorten(error['input'])})"


def _shorten(value: object) -> str:
    """A value as it appears in a message: never pages of it (an alias can expand a lot)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def label(section: str, item: Any) -> str:
    noun = "library" if section == "libraries" else "agreement"
    identifier: object = getattr(item, "id", None)
    if identifier is None and isinstance(item, dict):
        identifier = item.get("id")
    return f"{noun} {identifier}" if isinstance(identifier, str) else noun
