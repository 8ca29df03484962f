"""The agreement and library forms: their fields, what their pickers offer, and the mini file
text a posted form makes (``identity.agreements.formfields`` does the reading and writing).

An agreement's form has the fields of its kind (docs/agreements.md): the parties picked from the
network's libraries, its categories from every library's category map, its dates, standing and
terms, with the flags and the network's materials as checkboxes. A library's form has its
directory entry, card prefixes and pattern, its category map as rows of code and hub category,
its contact, and its connector: a kind and that kind's settings (only the chosen kind's are
kept). A library's ``standing`` source, if any, is left as written (the YAML editor changes it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import policies
from identity.agreements.entries import Kind
from identity.agreements.formfields import Field, Path, Posted, dump, fresh, load, write
from policies.model import FLAGS

CONNECTOR_KINDS = ("registry", "sip2", "ldap", "saml", "oidc")
ENCODINGS = ("ascii", "cp437", "cp850", "cp1252", "iso8859-1", "utf-8")

_NAME = Field("name", ("name",), "text", "Name", "Shown to administrators and patrons.")
_PERIOD = (
    Field("from", ("effective", "from"), "date", "In force from",
          "The first day it applies. Leave empty for no start date."),
    Field("until", ("effective", "until"), "date", "In force until",
          "The last day it applies (inclusive). Leave empty for no end date."),
)  # fmt: skip
_LENDER = Field("lender", ("lender",), "one", "Lender", "The library that lends.",
                required=True, options="libraries")  # fmt: skip
_STANDING = (
    Field("max_fines", ("standing", "max_fines"), "money", "Most fines a patron may owe",
          "An amount, like 10.00. Leave empty for no limit.", default=None),
    Field("card_must_be_valid", ("standing", "card_must_be_valid"), "bool",
          "The patron's card must not have expired", default=True),
    Field("blocking_flags", ("standing", "blocking_flags"), "many", "Flags that block a patron",
          "A patron whose home record shows any of these is refused.", options="flags",
          default=()),
    Field("requires_standing_source", ("standing", "requires_standing_source"), "bool",
          "Lend only on a home library record of fines and blocks",
          "A patron whose identity provider proved membership only is refused.", default=False),
)  # fmt: skip
_TERMS = (
    Field("max_items", ("terms", "max_items"), "int", "Items on loan at once", required=True),
    Field("loan_days", ("terms", "loan_days"), "int", "Loan period in days", required=True),
    Field("renewals", ("terms", "renewals"), "int", "Renewals", default=0),
    Field("holds", ("terms", "holds"), "int", "Holds", default=0),
    Field("excluded_material", ("terms", "excluded_material"), "many", "Material not lent",
          options="materials", default=()),
)  # fmt: skip
AGREEMENT_FIELDS: dict[Kind, tuple[Field, ...]] = {
    "bilateral": (
        _NAME, _LENDER,
        Field("borrowers_from", ("borrowers_from",), "many", "Lends to the patrons of",
              required=True, options="libraries"),
        *_PERIOD,
        Field("categories", ("categories",), "many", "Categories of patrons", required=True,
              options="categories"),
        *_STANDING, *_TERMS,
    ),
    "consortium": (
        _NAME,
        Field("members", ("members",), "many", "Members",
              "Every member lends to the patrons of every other member.", required=True,
              options="libraries"),
        *_PERIOD,
        Field("categories", ("categories",), "many", "Categories of patrons", required=True,
              options="categories"),
        *_STANDING, *_TERMS,
    ),
    "suspension": (
        _NAME, _LENDER,
        Field("borrowers_from", ("borrowers_from",), "many", "Stops lending to the patrons of",
              required=True, options="libraries"),
        *_PERIOD,
        Field("categories", ("categories",), "many", "Only these categories",
              "Leave all unticked to suspend every category.", options="categories"),
        Field("reason", ("reason",), "long", "Reason", "For administrators and staff only.",
              required=True),
        Field("public_note", ("public_note",), "long", "Note for patrons",
              "What refused patrons may read. Leave empty to tell them only that it is "
              "suspended."),
    ),
}  # fmt: skip
NEW_ID = Field("id", ("id",), "text", "Id",
               "Lower-case letters, digits, . _ and -. It cannot be changed once saved.",
               required=True)  # fmt: skip
#: where a problem with a whole map belongs
AGREEMENT_ALIASES: dict[Path, str] = {("effective",): "until", ("terms",): "max_items"}
_AGREEMENT_ORDER = ("id", "name", "kind", "lender", "borrowers_from", "members", "effective",
                    "categories", "standing", "terms", "reason", "public_note")  # fmt: skip


@dataclass(frozen=True)
class Options:
    """What the pickers offer: ids, each with the words shown for it."""

    choices: dict[str, dict[str, str]]

    def ids(self) -> dict[str, list[str]]:
        return {name: list(shown) for name, shown in self.choices.items()}


def options_of(agreements: policies.Agreements, data: Mapping[str, Any] | None = None) -> Options:
    """The network's libraries (by name), categories, flags and materials, and whatever the
    entry ``data`` already holds (so that an edit never has to drop a value it cannot show)."""
    libraries = {i: f"{lib.name} ({i})" for i, lib in agreements.libraries.items()}
    materials = {k: f"{v} ({k})" for k, v in agreements.network.materials.items()}
    choices = {
        "libraries": libraries,
        "categories": {c: c for c in sorted(agreements.categories)},
        "flags": {f: f.replace("_", " ") for f in FLAGS},
        "materials": materials,
        "pin_formats": {"text": "letters and digits", "numeric": "digits only"},
        "connector_kinds": {k: k for k in CONNECTOR_KINDS},
        "encodings": {e: e for e in ENCODINGS},
    }
    for field in (f for fields in AGREEMENT_FIELDS.values() for f in fields if f.options):
        for value in _held(data, field.path):
            choices[field.options].setdefault(value, value)
    return Options(choices)


def _held(data: Mapping[str, Any] | None, path: tuple[str, ...]) -> list[str]:
    value: Any = data or {}
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)] if isinstance(value, str) else []


def agreement_fields(kind: Kind, *, new: bool) -> tuple[Field, ...]:
    return ((NEW_ID,) if new else ()) + AGREEMENT_FIELDS[kind]


def agreement_text(
    base: str | None, kind: Kind, fields: Sequence[Field], values: Mapping[str, Any]
) -> str:
    """The mini file of an agreement with the form's ``values``: written onto ``base`` (the
    entry's mini file as it is), or a new entry's (``values["id"]``) when None."""
    if base is None:
        document = fresh("agreements", str(values.get("id") or ""))
        document["agreements"][0]["kind"] = kind
    else:
        document = load(base)
    entry = document["agreements"][0]
    order = [(k,) for k in _AGREEMENT_ORDER] + [f.path for f in fields]
    write(entry, [f for f in fields if f.name != "id"], values, order=order)
    return dump(document)


def posted_of(items: Iterable[tuple[str, Any]]) -> Posted:
    """A form's fields (``FormData.multi_items()``) by name, every value of each."""
    out: Posted = {}
    for name, value in items:
        if isinstance(value, str):
            out.setdefault(name, []).append(value)
    return out
