"""Checks across a whole set of libraries and agreements, after each item's own schema passed.

``check`` finds what no single item can know: ids used twice, references to libraries that do not
exist, categories no library maps to, a lender borrowing from itself, card prefixes or email
domains claimed twice.
Each issue carries the path of the offending value so the loader can point at its line.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from policies.model import FEDERATED_KINDS, Bilateral, Consortium, Library, Suspension

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem with item ``index`` of the libraries or agreements, at ``path`` inside it."""

    section: Literal["libraries", "agreements"]
    index: int
    path: Path
    message: str

    def where(self) -> str:
        text = f"{self.section}[{self.index}]"
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else f".{part}"
        return text


def check(
    libraries: Sequence[Library],
    agreements: Sequence[Consortium | Bilateral | Suspension],
    *,
    also_known_libraries: Collection[str] = (),
    also_known_categories: Collection[str] = (),
) -> list[Issue]:
    """Every cross-reference problem in the set, in order. ``also_known_libraries`` and
    ``also_known_categories`` name what libraries that failed their own validation define, so
    references to them are not reported a second time."""
    issues: list[Issue] = []
    first_library: dict[str, int] = {}
    prefix_owner: dict[str, str] = {}
    domain_owner: dict[str, str] = {}
    for i, library in enumerate(libraries):
        if library.id in first_library:
            issues.append(
                Issue("libraries", i, ("id",), f"library id {library.id!r} is defined twice")
            )
            continue
        first_library[library.id] = i
        for k, prefix in enumerate(library.card_prefixes):
            owner = prefix_owner.setdefault(prefix, library.id)
            if owner != library.id:
                issues.append(
                    Issue(
                        "libraries",
                        i,
                        ("card_prefixes", k),
                        f"card prefix {prefix!r} is already used by library {owner!r}",
                    )
                )
        for k, domain in enumerate(library.domains):
            owner = domain_owner.setdefault(domain, library.id)
            if owner != library.id:
                issues.append(
                    Issue(
                        "libraries",
                        i,
                        ("domains", k),
                        f"domain {domain!r} is already used by library {owner!r}",
                    )
                )

    for i, library in enumerate(libraries):
        if library.standing is not None and library.connector.kind not in FEDERATED_KINDS:
            issues.append(
                Issue(
                    "libraries",
                    i,
                    ("standing",),
                    f"a standing source is for a library whose patrons sign in at its own "
                    f"identity provider or directory (saml, oidc, ldap); a "
                    f"{library.connector.kind} library's connector gives the standing itself",
                )
            )
    known = first_library.keys() | set(also_known_libraries)
    categories = {c for library in libraries for c in library.categories.values()}
    categories.update(also_known_categories)
    category_list = ", ".join(sorted(categories)) or "none: no library has a category map"
    seen_agreements: set[str] = set()
    for i, agreement in enumerate(agreements):
        if agreement.id in seen_agreements:
            issues.append(
                Issue("agreements", i, ("id",), f"agreement id {agreement.id!r} is defined twice")
            )
        seen_agreements.add(agreement.id)

        def library_ref(path: Path, library_id: str, index: int = i) -> None:
            if library_id not in known:
                issues.append(Issue("agreements", index, path, f"unknown library {library_id!r}"))

        if isinstance(agreement, Consortium):
            for k, member in enumerate(agreement.members):
                library_ref(("members", k), member)
        else:
            library_ref(("lender",), agreement.lender)
            for k, home in enumerate(agreement.borrowers_from):
                if home == agreement.lender:
                    issues.append(
                        Issue(
                            "agreements",
                            i,
                            ("borrowers_from", k),
                            f"the lender {home!r} cannot be in its own borrowers_from",
                        )
                    )
                else:
                    library_ref(("borrowers_from", k), home)
        for k, category in enumerate(agreement.categories or ()):
            if category not in categories:
                issues.append(
                    Issue(
                        "agreements",
                        i,
                        ("categories", k),
                        f"unknown category {category!r}; the hub categories, from the libraries' "
                        f"category maps, are: {category_list}",
                    )
                )
    return issues
