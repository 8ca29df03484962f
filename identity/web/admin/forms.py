"""``/admin/agreements/{id}/form`` and ``/admin/agreements/new/form?kind=``: an agreement edited
as a form, so that library staff never write YAML.

The form's fields are written onto the entry's mini file (``identity.agreements.forms``) and the
text goes through exactly what the YAML editor's does (``editing.submit``): the same validator,
what-if and warnings, the same publishing or proposal, the same in-place rewrite of its file.
A field that cannot be a value (not a number, not one of the libraries offered) is refused before
that, at its field; the validator's problems are shown at the field whose key they point at, and
all of them in the summary at the top. ``render`` is the page, shared with the library's form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session
from starlette.responses import Response

import policies
from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import entries, formfields, forms, minifile, queries, rules
from identity.agreements.entries import Kind
from identity.agreements.formfields import Field, Path, Posted
from identity.web import pages
from identity.web.admin import editing
from identity.web.admin.deps import AdminDep, engine_of, in_force, page, problem_page, secret_of

router = APIRouter(include_in_schema=False)
GROUPS = {"effective": "Dates", "standing": "Standing of the patron", "terms": "Terms"}


async def posted_form(request: Request) -> Posted:
    """Every value of every field posted (a checkbox list posts its name once per box)."""
    return forms.posted_of((await request.form()).multi_items())


PostedDep = Annotated[Posted, Depends(posted_form)]


@router.get("/admin/agreements/new/form", name="new_agreement_form")
def new_form(request: Request, admin: AdminDep, kind: str = "bilateral") -> Response:
    chosen = _kind(kind)
    mine = [admin.library] if admin.library else []
    posted = formfields.shown(forms.agreement_fields(chosen, new=True), {})  # the defaults
    posted["members" if chosen == "consortium" else "lender"] = mine
    return _agreement_page(request, admin, None, chosen, posted)


@router.post("/admin/agreements/new/form", name="new_agreement_form_post")
def new_post(request: Request, admin: AdminDep, posted: PostedDep) -> Response:
    return _agreement_post(request, admin, None, posted)


@router.get("/admin/agreements/{entry_id}/form", name="agreement_form")
def entry_form(request: Request, admin: AdminDep, entry_id: str) -> Response:
    found = entry_of(request, "agreements", entry_id)
    if found is None:
        return missing(request, admin, "agreement", entry_id)
    kind = _kind(str(found.data.get("kind")))
    fields = forms.agreement_fields(kind, new=False)
    posted = formfields.shown(fields, found.data)
    return _agreement_page(request, admin, entry_id, kind, posted)


@router.post("/admin/agreements/{entry_id}/form", name="agreement_form_post")
def entry_post(request: Request, admin: AdminDep, entry_id: str, posted: PostedDep) -> Response:
    return _agreement_post(request, admin, entry_id, posted)


def _agreement_post(
    request: Request, admin: Admin, entry_id: str | None, posted: Posted
) -> Response:
    found = entry_of(request, "agreements", entry_id) if entry_id else None
    if entry_id and found is None:
        return missing(request, admin, "agreement", entry_id)
    kind = _kind(str(found.data.get("kind") if found else first(posted, "kind")))
    show = _agreement_shower(request, admin, entry_id, kind, posted)
    fields = forms.agreement_fields(kind, new=entry_id is None)
    refused = guard(request, admin, "agreements", found, posted, show)
    if refused is not None:
        return refused
    with Session(engine_of(request)) as session:
        options = forms.options_of(in_force(request, session), found.data if found else None)
    values, invalid = formfields.read(fields, posted, options.ids())
    if invalid:
        return show("", note=first(posted, "note"), invalid=invalid, status=422)
    base = minifile.editable(files_of(request), "agreements", entry_id) if entry_id else None
    text = forms.agreement_text(base, kind, fields, values)
    return editing.submit(request, admin, "agreements", entry_id, text,
                          note=first(posted, "note"), do=first(posted, "do") or "check",
                          csrf=first(posted, "csrf"), show=show, view="/form")  # fmt: skip


def guard(
    request: Request,
    admin: Admin,
    section: entries.Section,
    found: entries.Entry | None,
    posted: Posted,
    show: editing.Show,
) -> Response | None:
    """The page again, refused, when the form's CSRF token is not good or this administrator may
    not change the entry at all (before its fields are read); None when neither."""
    note = first(posted, "note")
    if not pages.csrf_ok(secret_of(request), request, first(posted, "csrf")):
        return show("", note=note, error=editing.EXPIRED, status=400)
    try:
        rules.check_may_start(admin, section, found.data if found else None)
    except errors.NotPermitted as refused:
        return show("", note=note, error=refused.detail, status=refused.status)
    return None


def _agreement_shower(
    request: Request, admin: Admin, entry_id: str | None, kind: Kind, posted: Posted
) -> editing.Show:
    def show(text: str, **what: Any) -> Response:
        return _agreement_page(request, admin, entry_id, kind, posted, text=text, **what)

    return show


def _agreement_page(
    request: Request,
    admin: Admin,
    entry_id: str | None,
    kind: Kind,
    posted: Posted,
    *,
    text: str = "",
    **what: Any,
) -> Response:
    found = entry_of(request, "agreements", entry_id) if entry_id else None
    with Session(engine_of(request)) as session:
        options = forms.options_of(in_force(request, session), found.data if found else None)
    fields = forms.agreement_fields(kind, new=entry_id is None)
    yaml_view = f"/admin/agreements/{entry_id or f'new?kind={kind}'}"
    context = {
        "singular": "agreement",
        "kind": kind,
        "groups": grouped(fields, GROUPS),
        "aliases": forms.AGREEMENT_ALIASES,
        "yaml_view": yaml_view,
        "action": f"/admin/agreements/{entry_id or 'new'}/form",
    }
    return render(request, admin, "agreements", entry_id, found, posted, fields, options,
                  context, text=text, **what)  # fmt: skip


def render(
    request: Request,
    admin: Admin,
    section: entries.Section,
    entry_id: str | None,
    found: entries.Entry | None,
    posted: Posted,
    fields: Sequence[Field],
    options: forms.Options,
    context: dict[str, Any],
    *,
    text: str = "",
    note: str = "",
    error: str = "",
    invalid: Mapping[str, str] | None = None,
    problems: Sequence[policies.Problem] = (),
    status: int = 200,
    **what: Any,
) -> Response:
    """An entry's form page: ``posted`` in its fields, each field's problem beside it (``invalid``
    from reading the form, the validator's ``problems`` of ``text`` where they point at a
    field), and every problem in the summary at the top, linked to its field."""
    at: dict[str, list[str]] = {name: [message] for name, message in (invalid or {}).items()}
    elsewhere: list[str] = [error] if error else []
    aliases: Mapping[Path, str] = context.get("aliases", {})
    for problem in problems or ():
        name = formfields.field_of(problem, text, fields, aliases) if text else None
        if name is None:
            where = "" if problem.file == entries.EDITED else f"{problem.file}: "
            elsewhere.append(f"{where}{problem.message}")
        else:
            at.setdefault(name, []).append(formfields.message_of(problem))
    labels = {f.name: f.label for f in fields} | context.get("labels", {})
    kinds = {f.name: f.kind for f in fields}
    anchors: Mapping[str, str] = context.get("anchors", {})
    order: list[str] = context.get("order") or [f.name for f in fields]
    summary = [
        (f"#{anchors.get(name) or (f'{name}-0' if kinds.get(name) == 'many' else name)}",
         labels.get(name, name), message)
        for name, messages in sorted(at.items(), key=lambda item: _place(order, item[0]))
        for message in messages
    ]  # fmt: skip
    if found is None:
        editable = admin.consortium or section == "agreements"
    else:
        editable = rules.may_touch(admin, section, found.data, found.data)
    with Session(engine_of(request)) as session:
        pending = queries.proposals(session, admin) if entry_id else []
    waiting = [p for p in pending if p.target == entry_id]
    context = {
        **context,
        "section": section,
        "entry_id": entry_id,
        "entry": found,
        "posted": posted,
        "choices": options.choices,
        "at": at,
        "summary": summary,
        "elsewhere": elsewhere,
        "note": note or first(posted, "note"),
        "editable": editable,
        "parties": sorted(rules.parties(section, found.data)) if found else [],
        "waiting": waiting,
        "published": request.query_params.get("published", ""),
        "warned_action": "saving",
        **what,
    }
    return page(request, "form.html", context, admin=admin, status_code=status)


def grouped(fields: Sequence[Field], legends: Mapping[str, str]) -> list[tuple[str, list[Field]]]:
    """The fields in runs of one fieldset each (by the first key of their path; "" for none)."""
    out: list[tuple[str, list[Field]]] = []
    for field in fields:
        legend = legends.get(field.path[0], "") if len(field.path) > 1 else ""
        if out and out[-1][0] == legend:
            out[-1][1].append(field)
        else:
            out.append((legend, [field]))
    return out


def _place(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)


def first(posted: Posted, name: str) -> str:
    values = posted.get(name) or [""]
    return values[0]


def entry_of(
    request: Request, section: entries.Section, entry_id: str | None
) -> entries.Entry | None:
    return entries.find(files_of(request), section, entry_id) if entry_id else None


def files_of(request: Request) -> entries.Files:
    with Session(engine_of(request)) as session:
        _, files = queries.current_files(session)
    return files


def missing(request: Request, admin: Admin, noun: str, entry_id: str) -> Response:
    return problem_page(request, admin, errors.NotFound(f"There is no {noun} {entry_id}."))


def _kind(name: str) -> Kind:
    if name == "consortium":
        return "consortium"
    return "suspension" if name == "suspension" else "bilateral"
