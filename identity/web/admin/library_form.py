"""``/admin/libraries/{id}/form`` and ``/admin/libraries/new/form``: a library edited as a form
(``identity.agreements.library_forms``): its directory entry, category map as rows, contact and
connector with each kind's settings. Check, save and "Test connection" go through
``editing.submit`` as the YAML editor's do, with the same confirmation to save settings whose
test just failed; the page is ``forms.render``'s.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.responses import Response

from identity.admin.accounts import Admin
from identity.agreements import formfields, forms, library_forms, minifile
from identity.agreements.formfields import Posted
from identity.web.admin import editing
from identity.web.admin.deps import AdminDep, engine_of, in_force
from identity.web.admin.forms import (
    PostedDep,
    entry_of,
    files_of,
    first,
    grouped,
    guard,
    missing,
    render,
)

router = APIRouter(include_in_schema=False)


@router.get("/admin/libraries/new/form", name="new_library_form")
def new_form(request: Request, admin: AdminDep) -> Response:
    return _library_page(request, admin, None, library_forms.library_shown(None))


@router.post("/admin/libraries/new/form", name="new_library_form_post")
def new_post(request: Request, admin: AdminDep, posted: PostedDep) -> Response:
    return _library_post(request, admin, None, posted)


@router.get("/admin/libraries/{entry_id}/form", name="library_form")
def entry_form(request: Request, admin: AdminDep, entry_id: str) -> Response:
    found = entry_of(request, "libraries", entry_id)
    if found is None:
        return missing(request, admin, "library", entry_id)
    return _library_page(request, admin, entry_id, library_forms.library_shown(found.data))


@router.post("/admin/libraries/{entry_id}/form", name="library_form_post")
def entry_post(request: Request, admin: AdminDep, entry_id: str, posted: PostedDep) -> Response:
    return _library_post(request, admin, entry_id, posted)


def _library_post(request: Request, admin: Admin, entry_id: str | None, posted: Posted) -> Response:
    found = entry_of(request, "libraries", entry_id) if entry_id else None
    if entry_id and found is None:
        return missing(request, admin, "library", entry_id)

    def show(text: str, **what: Any) -> Response:
        return _library_page(request, admin, entry_id, posted, text=text, **what)

    refused = guard(request, admin, "libraries", found, posted, show)
    if refused is not None:
        return refused
    fields = library_forms.fields_of(_kind(posted), new=entry_id is None)
    with Session(engine_of(request)) as session:
        options = forms.options_of(in_force(request, session))
    values, invalid = formfields.read(fields, posted, options.ids())
    categories, wrong = library_forms.categories_read(posted)
    if wrong:
        invalid["categories"] = wrong
    if invalid:
        return show("", note=first(posted, "note"), invalid=invalid, status=422)
    base = minifile.editable(files_of(request), "libraries", entry_id) if entry_id else None
    text = library_forms.library_text(base, fields, values, categories)
    return editing.submit(request, admin, "libraries", entry_id, text,
                          note=first(posted, "note"), do=first(posted, "do") or "check",
                          csrf=first(posted, "csrf"), card=first(posted, "card"),
                          failed=first(posted, "failed"), show=show, view="/form")  # fmt: skip


def _kind(posted: Posted) -> str:
    kind = first(posted, library_forms.KIND.name)
    return kind if kind in library_forms.CONNECTOR_FIELDS else "registry"


def _library_page(
    request: Request,
    admin: Admin,
    entry_id: str | None,
    posted: Posted,
    *,
    text: str = "",
    **what: Any,
) -> Response:
    found = entry_of(request, "libraries", entry_id) if entry_id else None
    with Session(engine_of(request)) as session:
        options = forms.options_of(in_force(request, session))
    kind = _kind(posted)
    fields = library_forms.fields_of(kind, new=entry_id is None)
    common = ((library_forms.NEW_ID,) if entry_id is None else ()) + library_forms.FIELDS
    title = library_forms.TITLES.get(kind, kind)
    context = {
        "singular": "library",
        "kind": "",
        "groups": grouped(common, {"contact": "Where its patrons get help"}),
        "aliases": library_forms.ALIASES,
        "anchors": {"categories": "code-0"},
        "order": [f.name for f in common]
        + ["categories"]
        + [f.name for f in fields[len(common) :]],
        "labels": {"categories": "Category map"}
        | {f.name: f"{title}: {f.label}" for f in library_forms.CONNECTOR_FIELDS[kind]},
        "extra": "admin/_library_fields.html",
        "kind_field": library_forms.KIND,
        "connector_fields": library_forms.CONNECTOR_FIELDS,
        "titles": library_forms.TITLES,
        "rows": library_forms.category_rows(posted),
        "has_standing": bool(found and found.data.get("standing")),
        "yaml_view": f"/admin/libraries/{entry_id or 'new'}",
        "action": f"/admin/libraries/{entry_id or 'new'}/form",
    }
    return render(request, admin, "libraries", entry_id, found, posted, fields, options,
                  context, text=text, **what)  # fmt: skip
