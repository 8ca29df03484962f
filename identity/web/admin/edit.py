"""``/admin/libraries`` and ``/admin/agreements``: the entries in force, and one entry's YAML
editor ("Advanced: edit as YAML"; the form of ``forms`` is the usual way in).

An entry is edited as it is written in agreement files (a one-entry file in a textarea), so the
validator's messages name the textarea's own lines. Its buttons (check, save, save anyway, and on
a library, test connection) do what ``editing.submit`` says, as the form's do. Removing an entry
is a form of its own.
"""

from __future__ import annotations

import re
from datetime import date
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import Response

import policies
from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import entries, minifile, queries, rules, status, whatif
from identity.web.admin import editing
from identity.web.admin.deps import AdminDep, engine_of, page, problem_page

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]
KINDS = ("bilateral", "consortium", "suspension")


def _routes(section: entries.Section, path: str) -> None:
    singular = "library" if section == "libraries" else "agreement"

    @router.get(f"/admin/{path}", name=f"page_{section}")
    def list_page(request: Request, admin: AdminDep, library: str = "") -> Response:
        with Session(engine_of(request)) as session:
            shown = queries.visible_entries(session, admin, section, library or None)
            known = queries.visible_entries(session, admin, "libraries")
            every = queries.visible_entries(session, admin, "agreements")
            pending = queries.proposals(session, admin)
        libraries = sorted(e.id for e in known)
        names = {e.id: str(e.data.get("name") or e.id) for e in known}
        today = date.today()  # noqa: DTZ011
        agreements = [e.data for e in every]
        rows = [_row(admin, section, e) for e in shown]
        for row in rows:
            row["names"] = names
            if section == "agreements":
                row["status"] = status.of(row["data"], agreements, today)
            else:
                row["status"] = status.of_library(row["id"], agreements, today)
        context = {
            "section": section,
            "singular": singular,
            "entries": rows,
            "library": library,
            "libraries": libraries,
            "kinds": KINDS,
            "pending": {p.target for p in pending if p.section == section},
        }
        return page(request, "entries.html", context, admin=admin)

    @router.get(f"/admin/{path}/new", name=f"new_{singular}")
    def new_page(request: Request, admin: AdminDep, kind: str = "bilateral") -> Response:
        mine = [admin.library] if admin.library else []
        text = minifile.template(section, _kind(kind), libraries=mine)
        return _editor(request, admin, section, None, text, kind=_kind(kind))

    @router.post(f"/admin/{path}/new", name=f"new_{singular}_post")
    def new_post(
        request: Request,
        admin: AdminDep,
        yaml: FormText = "",
        note: FormText = "",
        do: FormText = "check",
        csrf: FormText = "",
    ) -> Response:
        return _post(request, admin, section, None, yaml, note, do, csrf, "")

    @router.get(f"/admin/{path}/{{entry_id}}", name=f"{singular}_page")
    def entry_page(request: Request, admin: AdminDep, entry_id: str) -> Response:
        with Session(engine_of(request)) as session:
            _, files = queries.current_files(session)
        if entries.find(files, section, entry_id) is None:
            missing = errors.NotFound(f"There is no {singular} {entry_id}.")
            return problem_page(request, admin, missing)
        text = minifile.editable(files, section, entry_id)
        return _editor(request, admin, section, entry_id, text)

    @router.post(f"/admin/{path}/{{entry_id}}", name=f"{singular}_post")
    def entry_post(
        request: Request,
        admin: AdminDep,
        entry_id: str,
        yaml: FormText = "",
        note: FormText = "",
        do: FormText = "check",
        csrf: FormText = "",
        card: FormText = "",
        failed: FormText = "",
    ) -> Response:
        return _post(request, admin, section, entry_id, yaml, note, do, csrf, card, failed)


_routes("libraries", "libraries")
_routes("agreements", "agreements")


def _post(
    request: Request,
    admin: Admin,
    section: entries.Section,
    entry_id: str | None,
    text: str,
    note: str,
    do: str,
    csrf: str,
    card: str,
    failed: str = "",
) -> Response:
    show = partial(_editor, request, admin, section, entry_id)
    return editing.submit(request, admin, section, entry_id, text, note=note, do=do, csrf=csrf,
                          card=card, failed=failed, show=show)  # fmt: skip


def _editor(
    request: Request,
    admin: Admin,
    section: entries.Section,
    entry_id: str | None,
    text: str,
    *,
    note: str = "",
    error: str = "",
    problems: list[policies.Problem] | None = None,
    flips: list[whatif.Flip] | None = None,
    checked: bool = False,
    warnings: list[policies.Problem] | None = None,
    connection: editing.Report | dict[str, Any] | None = None,
    card: str = "",
    failed: str = "",
    confirm_save: bool = False,
    status: int = 200,
    kind: str = "",
) -> Response:
    with Session(engine_of(request)) as session:
        _, files = queries.current_files(session)
        found = entries.find(files, section, entry_id) if entry_id else None
        waiting = [
            p for p in queries.proposals(session, admin) if p.target == entry_id and entry_id
        ]
    if found is None:  # a new entry: anyone may start one of theirs (saving checks whose)
        editable = admin.consortium or section == "agreements"
    else:
        editable = rules.may_touch(admin, section, found.data, found.data)
    problems = problems or []
    context = {
        "section": section,
        "singular": "library" if section == "libraries" else "agreement",
        "path": section,
        "entry_id": entry_id,
        "entry": found,
        "text": text,
        "note": note,
        "error": error,
        "inline": [p for p in problems if p.file == entries.EDITED],
        "elsewhere": [p for p in problems if p.file != entries.EDITED],
        "flips": flips or [],
        "checked": checked,
        "warnings": warnings or [],
        "editable": editable,
        "parties": sorted(rules.parties(section, found.data)) if found else [],
        "waiting": waiting,
        "connection": connection,
        "card": card,
        "failed": failed,
        "confirm_save": confirm_save,
        "published": request.query_params.get("published", ""),
        "kinds": KINDS,
        "rows": max(12, min(40, text.count("\n") + 3)),
        "form_view": _form_view(section, entry_id, kind or _kind_of(text)),
    }
    return page(request, "entry.html", context, admin=admin, status_code=status)


def _row(admin: Admin, section: entries.Section, entry: entries.Entry) -> dict[str, Any]:
    data = entry.data
    return {
        "id": entry.id,
        "file": entry.file,
        "data": data,
        "parties": sorted(rules.parties(section, data)),
        "editable": rules.may_touch(admin, section, data, data),
    }


def _form_view(section: entries.Section, entry_id: str | None, kind: str) -> str:
    """The form's page for the entry (a new one: of ``kind``)."""
    if entry_id is not None:
        return f"/admin/{section}/{entry_id}/form"
    return f"/admin/{section}/new/form" + (f"?kind={kind}" if section == "agreements" else "")


def _kind_of(text: str) -> str:
    found = re.search(r"^\s*kind: (bilateral|consortium|suspension)\s*$", text, re.MULTILINE)
    return found.group(1) if found else "bilateral"


def _kind(name: str) -> Literal["consortium", "bilateral", "suspension"]:
    if name == "consortium":
        return "consortium"
    return "suspension" if name == "suspension" else "bilateral"
