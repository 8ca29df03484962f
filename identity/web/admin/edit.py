"""``/admin/libraries`` and ``/admin/agreements``: the entries in force, and one entry's editor.

An entry is edited as it is written in agreement files (a one-entry file in a textarea), so the
validator's messages name the textarea's own lines. The editor's form has three buttons:
``check`` (the validator's problems, or the decisions the change would flip), ``save``
(published at once, or proposed to the other party: ``identity.agreements.rules`` decides), and,
on a library, ``test`` (ask the home system, with the settings in the textarea, about a card;
or the library's own identity provider for its discovery and keys). Saving settings whose
test just failed asks to confirm first (``save-anyway``).
Removing an entry is a form of its own.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from datetime import date
from functools import partial
from typing import Annotated, Any, Literal

from anyio import from_thread
from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

import policies
from identity import errors
from identity.admin import connections
from identity.admin.accounts import Admin
from identity.agreements import (
    changes,
    checks,
    entries,
    minifile,
    queries,
    rules,
    status,
    whatif,
)
from identity.store.database import transaction
from identity.web import pages
from identity.web.admin.deps import AdminDep, engine_of, in_force, page, problem_page, secret_of
from identity.web.deps import client_address
from policies.warnings import introduced

router = APIRouter(include_in_schema=False)

Report = connections.Report | connections.IdentityProviderReport | connections.ProviderReport
FormText = Annotated[str, Form()]
KINDS = ("bilateral", "consortium", "suspension")
EXPIRED = "This page had expired. Your text is below; please try again."


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
        return _editor(request, admin, section, None, text)

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
    text = text.replace("\r\n", "\n")  # browsers send CRLF from a textarea
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _editor(
            request, admin, section, entry_id, text, note=note, error=EXPIRED, status=400
        )
    if do == "remove" and entry_id is not None:
        return _save(request, admin, section, entry_id, None, note)
    if do == "save" and entry_id is not None and failed_test(request, entry_id, text, failed):
        return _editor(request, admin, section, entry_id, text, note=note, card=card,
                       failed=failed, confirm_save=True, status=409)  # fmt: skip
    if do in ("save", "save-anyway"):
        return _save(request, admin, section, entry_id, text, note)
    if do == "test" and section == "libraries" and entry_id is not None:
        return _test(request, admin, entry_id, text, note, card)
    try:
        with Session(engine_of(request)) as session:
            after, problems = checks.preview(session, admin, section, entry_id, text)
            on = date.today()  # noqa: DTZ011
            now = in_force(request, session)
            flips = [] if after is None else whatif.counted(session, now, after, on=on)
            found = [] if after is None else introduced(now, after)
    except errors.Problem as problem:
        return _refused(request, admin, section, entry_id, text, note, problem)
    return _editor(request, admin, section, entry_id, text, note=note, problems=problems,
                   flips=flips, checked=after is not None, warnings=found,
                   status=422 if problems else 200)  # fmt: skip


def _save(
    request: Request,
    admin: Admin,
    section: entries.Section,
    entry_id: str | None,
    text: str | None,
    note: str,
) -> Response:
    address = client_address(request)
    try:
        with transaction(engine_of(request)) as session:
            outcome = changes.change(session=session, admin=admin, section=section,
                                     entry_id=entry_id, text=text, note=note.strip() or None,
                                     address=address)  # fmt: skip
            version = outcome.version.id if outcome.version else None
            proposal = outcome.proposal.id if outcome.proposal else None
    except errors.Problem as problem:
        return _refused(request, admin, section, entry_id, text or "", note, problem)
    if proposal is not None:
        return RedirectResponse(f"/admin/proposals/{proposal}?created=1", status_code=303)
    path = "libraries" if section == "libraries" else "agreements"
    if text is None:
        return RedirectResponse(f"/admin/{path}?removed={entry_id}&version={version}", 303)
    target = entry_id or (checks.new_id(section, text) or "")
    return RedirectResponse(f"/admin/{path}/{target}?published={version}", status_code=303)


def _test(
    request: Request, admin: Admin, entry_id: str, text: str, note: str, card: str
) -> Response:
    """Ask the home system about ``card`` with the settings in the textarea (not saved)."""
    if not admin.consortium and admin.library != entry_id:
        error = (
            f"Library {entry_id} is not yours: you can test only your own library's "
            f"connection ({admin.library})."
        )
        return _editor(request, admin, "libraries", entry_id, text, note=note, error=error,
                       status=403)  # fmt: skip
    try:
        with Session(engine_of(request)) as session:
            after, problems = checks.preview(session, admin, "libraries", entry_id, text)
        if after is None:
            return _editor(request, admin, "libraries", entry_id, text, note=note,
                           problems=problems, status=422)  # fmt: skip
        library = after.libraries[entry_id]  # its id cannot change
        oauth = request.app.state.oauth
        if library.connector.kind == "saml":  # no card: its IdP's metadata is what is tested
            ask_idp = partial(connections.ask_identity_provider, library=library,
                              gates=oauth.gates, settings=request.app.state.settings)  # fmt: skip
            saml_report: Report = from_thread.run(ask_idp)
            return _editor(request, admin, "libraries", entry_id, text, note=note,
                           connection=saml_report)  # fmt: skip
        if library.connector.kind == "oidc":  # no card: its provider's discovery and keys
            ask: Callable[[], Coroutine[Any, Any, Report]] = partial(
                connections.ask_openid_provider, library=library, hub_issuer=oauth.issuer,
                gates=oauth.gates)  # fmt: skip
        elif not card.strip():
            return _editor(request, admin, "libraries", entry_id, text, note=note, status=400,
                           error="Enter a card number to ask the home system about.")  # fmt: skip
        else:
            ask = partial(connections.ask_about_card, library=library, card=card,
                          gates=oauth.gates, engine=engine_of(request))  # fmt: skip
        # from this worker thread, in a connection test's turn on the event loop
        report: Report | dict[str, Any] = from_thread.run(ask)
    except errors.HomeLibraryUnavailable as exc:
        report = {"reachable": False, "detail": exc.detail, "card": card}
    except errors.Problem as problem:
        return _refused(request, admin, "libraries", entry_id, text, note, problem, card=card)
    reachable = report.get("reachable") if isinstance(report, dict) else report.reachable
    failed = "" if reachable else failed_mark(request, entry_id, text)
    return _editor(request, admin, "libraries", entry_id, text, note=note, connection=report,
                   card=card, failed=failed)  # fmt: skip


def failed_mark(request: Request, entry_id: str, text: str) -> str:
    """What the editor carries after a connection test of ``text`` failed (an HMAC of it), so
    that saving those very settings asks to confirm first."""
    message = f"connection test failed\n{entry_id}\n{text}".encode()
    return hmac.new(secret_of(request).encode(), message, hashlib.sha256).hexdigest()


def failed_test(request: Request, entry_id: str, text: str, mark: str) -> bool:
    """Whether the last connection test of exactly ``text`` failed (``mark``)."""
    return bool(mark) and hmac.compare_digest(failed_mark(request, entry_id, text), mark)


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
    connection: Report | dict[str, Any] | None = None,
    card: str = "",
    failed: str = "",
    confirm_save: bool = False,
    status: int = 200,
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


def _kind(name: str) -> Literal["consortium", "bilateral", "suspension"]:
    if name == "consortium":
        return "consortium"
    return "suspension" if name == "suspension" else "bilateral"


def _refused(
    request: Request,
    admin: Admin,
    section: entries.Section,
    entry_id: str | None,
    text: str,
    note: str,
    problem: errors.Problem,
    *,
    card: str = "",
) -> Response:
    """The editor again, showing why the change was refused (the validator's problems in the
    textarea's lines), in the problem's status; a page of its own when there is no such entry."""
    if isinstance(problem, errors.NotFound):
        return problem_page(request, admin, problem)
    found = problem.problems if isinstance(problem, errors.InvalidAgreements) else []
    return _editor(request, admin, section, entry_id, text, note=note, card=card,
                   error="" if found else problem.detail, problems=found,
                   status=problem.status)  # fmt: skip
