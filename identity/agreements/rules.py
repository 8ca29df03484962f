"""Who may change which entry of the agreement set, and whose consent a change needs.

Who may touch what (``check_may_start``, ``check_may_touch``, raising ``NotPermitted``):

- a consortium administrator: everything, published at once;
- a library administrator: their own library's entry (not making or removing libraries), and the
  agreements their library is party to, before the change and after it.

Whose consent a change needs (``consent``): a library entry, that library's; a bilateral
agreement, every party's (the lender and each library in ``borrowers_from``); a consortium
agreement, a consortium administrator's; a suspension, the lender's alone; and a library entry
whose new card prefixes overlap another library's, that library's too (``overlapping``); one
that lists new email ``domains``, a consortium administrator's (``new_domains``). Who may
see, decide on and withdraw a proposal (``may_see``, ``may_decide``, ``may_withdraw``); a
proposal keeps its parties and whom it awaits as ``joined`` names. Whose cards' sign-in
attempts an administrator may see and unlock at the desk (``check_may_serve_cards``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import entries
from identity.store.models import Proposal

#: the party that stands for "a consortium administrator" in ``consent`` and ``awaiting`` (with a
#: space, so that no library id can be it)
CONSORTIUM = "consortium administrators"


def parties(section: str, data: dict[str, Any] | None) -> frozenset[str]:
    """The libraries an entry involves: a library itself; an agreement's members, or its lender
    and the libraries it lends to."""
    if data is None:
        return frozenset()
    if section == "libraries":
        return frozenset({str(data.get("id"))})
    if data.get("kind") == "consortium":
        return frozenset(str(m) for m in data.get("members") or ())
    lender = data.get("lender")
    borrowers = {str(b) for b in data.get("borrowers_from") or ()}
    return frozenset(borrowers | ({str(lender)} if lender else set()))


def consent(section: str, data: dict[str, Any] | None) -> frozenset[str]:
    """Whose consent a change to (or from) this entry needs."""
    if data is None:
        return frozenset()
    if section == "libraries":
        return frozenset({str(data.get("id"))})
    kind = data.get("kind")
    if kind == "consortium":
        return frozenset({CONSORTIUM})
    if kind == "suspension":
        return frozenset({str(data.get("lender"))})
    return parties(section, data)


def may_touch(
    admin: Admin, section: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> bool:
    """``check_may_touch`` as a yes or no, for showing (or not) an editor."""
    try:
        check_may_touch(admin, section, before, after)
    except errors.NotPermitted:
        return False
    return True


def overlapping(
    files: Sequence[tuple[str, str]],
    section: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> frozenset[str]:
    """The other libraries whose cards a library entry's new card prefixes would take or share:
    a new prefix that one of theirs starts with, or that starts with one of theirs (cards go to
    the longest matching prefix). Their consent is needed too."""
    if section != "libraries" or after is None:
        return frozenset()
    old = {str(p) for p in (before or {}).get("card_prefixes") or ()}
    new = {str(p) for p in after.get("card_prefixes") or ()} - old
    found = set()
    for other in entries.entries(files, "libraries"):
        if other.id == after.get("id"):
            continue
        theirs = {str(p) for p in other.data.get("card_prefixes") or ()}
        if any(a.startswith(b) or b.startswith(a) for a in new for b in theirs):
            found.add(other.id)
    return frozenset(found)


def new_domains(
    section: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> frozenset[str]:
    """A consortium administrator, if a library entry lists email domains it did not: typed on
    the sign-in page, an address of such a domain goes to this library's identity provider, so
    a library claiming another university's domain would collect its patrons' passwords."""
    if section != "libraries" or after is None:
        return frozenset()
    old = {str(d) for d in (before or {}).get("domains") or ()}
    new = {str(d) for d in after.get("domains") or ()}
    return frozenset({CONSORTIUM}) if new - old else frozenset()


def check_may_start(
    admin: Admin, section: str, before: dict[str, Any] | None, *, removing: bool = False
) -> None:
    """Raise ``NotPermitted`` when ``admin`` may not change ``before`` (None: add an entry) at
    all, whatever the new text says: checked before that text is read."""
    if admin.consortium:
        return
    mine = admin.library
    if section == "libraries":
        if before is None or removing:
            raise errors.NotPermitted(
                "Only a consortium administrator can add or remove a library."
            )
        if before.get("id") != mine:
            raise errors.NotPermitted(
                f"Library {before.get('id')} is not yours: you can change only your own "
                f"library's entry ({mine})."
            )
    elif before is not None:
        _check_party(admin, section, before, "is")


def check_may_touch(
    admin: Admin, section: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    """Raise ``NotPermitted`` unless ``admin`` may change ``before`` into ``after`` (either may
    be None: a new entry, a removed one)."""
    check_may_start(admin, section, before, removing=after is None)
    if admin.consortium:
        return
    mine = admin.library
    if section == "libraries":
        assert before is not None and after is not None  # else refused above
        had, has = _secret_names(before), _secret_names(after)
        if had != has:
            key = sorted(k for k in {*had, *has} if had.get(k) != has.get(k))[0]
            raise errors.NotPermitted(
                f"Only a consortium administrator can change {key}: it names an "
                "environment variable of the hub itself (the hub's operator sets it), and "
                f"{mine}'s entry may use only the one it has ({had.get(key) or 'none'})."
            )
        if _connector_key(before, "tls_ca") != _connector_key(after, "tls_ca"):
            raise errors.NotPermitted(
                "Only a consortium administrator can change tls_ca: it names a file on the hub "
                f"itself (the hub's operator puts it there), and {mine}'s connector may use "
                f"only the one it has ({_connector_key(before, 'tls_ca') or 'none'})."
            )
        return
    if after is not None:
        _check_party(admin, section, after, "would be")


def _check_party(admin: Admin, section: str, data: dict[str, Any], when: str) -> None:
    if admin.library not in parties(section, data):
        names = ", ".join(sorted(parties(section, data)))
        raise errors.NotPermitted(
            f"Agreement {data.get('id')} {when} between {names}: you can change only "
            f"agreements that {admin.library} is party to."
        )


def _secret_names(data: dict[str, Any], at: str = "") -> dict[str, str]:
    """Every ``…_env`` key of a library entry, at any depth (``password_env``,
    ``client_secret_env``, ``search.password_env``), by its dotted path: the names of the
    hub's environment variables whose secrets the hub sends to the library's hosts."""
    found: dict[str, str] = {}
    for key, value in data.items():
        path = f"{at}{key}"
        if isinstance(value, dict):
            found.update(_secret_names(value, f"{path}."))
        elif str(key).endswith("_env") and value is not None:
            found[path.removeprefix("connector.")] = str(value)
    return found


def _connector_key(data: dict[str, Any], key: str) -> str | None:
    connector = data.get("connector")
    value = connector.get(key) if isinstance(connector, dict) else None
    return str(value) if value is not None else None


def check_may_serve_cards(admin: Admin, library: str) -> None:
    """Raise ``NotPermitted`` unless ``admin`` may see the sign-in attempts of ``library``'s
    cards and clear their locks: a consortium administrator, any library's; a library
    administrator, their own library's."""
    if admin.consortium or admin.library == library:
        return
    raise errors.NotPermitted(
        f"The cards of {library} are that library's: you can see and clear the locks only of "
        f"{admin.library}'s cards."
    )


def may_see(admin: Admin, proposal: Proposal) -> bool:
    return admin.consortium or f",{admin.library}," in proposal.parties


def may_decide(admin: Admin, proposal: Proposal) -> bool:
    """Whether ``admin`` may approve or reject ``proposal`` now."""
    if proposal.status != "pending":
        return False
    return admin.consortium or f",{admin.library}," in proposal.awaiting


def may_withdraw(admin: Admin, proposal: Proposal) -> bool:
    if proposal.status != "pending":
        return False
    return admin.consortium or (
        admin.library is not None and admin.library == proposal.proposer_library
    )


def joined(names: Iterable[str]) -> str:
    return "," + ",".join(sorted(names)) + "," if names else ""


def split_names(names: str) -> set[str]:
    return {name for name in names.split(",") if name}


def check_may_administer(admin: Admin, library: str | None, what: str) -> None:
    """Raise ``NotPermitted`` unless ``admin`` may manage ``what`` (OAuth clients,
    administrators, registry patrons) of ``library`` (None: the consortium's own, its
    administrators): a consortium administrator, anyone's; a library administrator, their own
    library's only."""
    if admin.consortium:
        return
    if library is None:
        raise errors.NotPermitted(f"Only a consortium administrator can manage {what} of the "
                                  "consortium itself.")  # fmt: skip
    if library != admin.library:
        raise errors.NotPermitted(
            f"Library {library} is not yours: you can manage only {admin.library}'s {what}."
        )
