"""What an entry's editor does with a change, whichever view wrote its text: the YAML editor's
textarea (``edit``) or the form (``forms``), which turns its fields into the same mini file text.

``submit`` takes the button pressed: ``check`` (the validator's problems, or the decisions the
change would flip and its warnings), ``save`` (published at once, or proposed to the other
party: ``identity.agreements.rules`` decides), ``remove``, and, on a library, ``test`` (ask the
home system, with the settings given, about a card; or the library's own identity provider for
its discovery and keys). Saving settings whose test just failed asks to confirm first
(``save-anyway``). The view shows the outcome: ``show(text, **what)`` is its page, given the text
and what to say about it (``problems``, ``flips``, ``warnings``, ``connection``, ``error``, ...).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from datetime import date
from functools import partial
from typing import Any

from anyio import from_thread
from fastapi import Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from identity import errors
from identity.admin import connections
from identity.admin.accounts import Admin
from identity.agreements import changes, checks, entries, whatif
from identity.store.database import transaction
from identity.web import pages
from identity.web.admin.deps import engine_of, in_force, problem_page, secret_of
from identity.web.deps import client_address
from policies.warnings import introduced

Report = connections.Report | connections.IdentityProviderReport | connections.ProviderReport
#: a view's page for the entry: ``show(text, note=..., problems=..., status=...)``
Show = Callable[..., Response]
EXPIRED = "This page had expired. Your text is below; please try again."


def submit(
    request: Request,
    admin: Admin,
    section: entries.Section,
    entry_id: str | None,
    text: str,
    *,
    note: str,
    do: str,
    csrf: str,
    card: str = "",
    failed: str = "",
    show: Show,
    view: str = "",
) -> Response:
    """Do what the button ``do`` asks with the entry's mini file ``text``; ``view`` is the path
    after the entry's own (``/form``) that a saved entry's page is shown at."""
    text = text.replace("\r\n", "\n")  # browsers send CRLF from a textarea
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return show(text, note=note, error=EXPIRED, status=400)
    if do == "remove" and entry_id is not None:
        return save(request, admin, section, entry_id, None, note, show=show)
    if do == "save" and entry_id is not None and failed_test(request, entry_id, text, failed):
        return show(text, note=note, card=card, failed=failed, confirm_save=True, status=409)
    if do in ("save", "save-anyway"):
        return save(request, admin, section, entry_id, text, note, show=show, view=view)
    if do == "test" and section == "libraries" and entry_id is not None:
        return test(request, admin, entry_id, text, note, card, show=show)
    try:
        with Session(engine_of(request)) as session:
            after, problems = checks.preview(session, admin, section, entry_id, text)
            on = date.today()  # noqa: DTZ011
            now = in_force(request, session)
            flips = [] if after is None else whatif.counted(session, now, after, on=on)
            found = [] if after is None else introduced(now, after)
    except errors.Problem as problem:
        return refused(request, admin, text, note, problem, show=show)
    return show(text, note=note, problems=problems, flips=flips, checked=after is not None,
                warnings=found, status=422 if problems else 200)  # fmt: skip


def save(
    request: Request,
    admin: Admin,
    section: entries.Section,
    entry_id: str | None,
    text: str | None,
    note: str,
    *,
    show: Show,
    view: str = "",
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
        return refused(request, admin, text or "", note, problem, show=show)
    if proposal is not None:
        return RedirectResponse(f"/admin/proposals/{proposal}?created=1", status_code=303)
    path = "libraries" if section == "libraries" else "agreements"
    if text is None:
        return RedirectResponse(f"/admin/{path}?removed={entry_id}&version={version}", 303)
    target = entry_id or (checks.new_id(section, text) or "")
    return RedirectResponse(f"/admin/{path}/{target}{view}?published={version}", 303)


def test(
    request: Request,
    admin: Admin,
    entry_id: str,
    text: str,
    note: str,
    card: str,
    *,
    show: Show,
) -> Response:
    """Ask the home system about ``card`` with the settings in ``text`` (not saved)."""
    if not admin.consortium and admin.library != entry_id:
        error = (
            f"Library {entry_id} is not yours: you can test only your own library's "
            f"connection ({admin.library})."
        )
        return show(text, note=note, error=error, status=403)
    try:
        with Session(engine_of(request)) as session:
            after, problems = checks.preview(session, admin, "libraries", entry_id, text)
        if after is None:
            return show(text, note=note, problems=problems, status=422)
        library = after.libraries[entry_id]  # its id cannot change
        oauth = request.app.state.oauth
        if library.connector.kind == "saml":  # no card: its IdP's metadata is what is tested
            ask_idp = partial(connections.ask_identity_provider, library=library,
                              gates=oauth.gates, settings=request.app.state.settings)  # fmt: skip
            saml_report: Report = from_thread.run(ask_idp)
            return show(text, note=note, connection=saml_report)
        if library.connector.kind == "oidc":  # no card: its provider's discovery and keys
            ask: Callable[[], Coroutine[Any, Any, Report]] = partial(
                connections.ask_openid_provider, library=library, hub_issuer=oauth.issuer,
                gates=oauth.gates)  # fmt: skip
        elif not card.strip():
            return show(text, note=note, status=400,
                        error="Enter a card number to ask the home system about.")  # fmt: skip
        else:
            ask = partial(connections.ask_about_card, library=library, card=card,
                          gates=oauth.gates, engine=engine_of(request))  # fmt: skip
        # from this worker thread, in a connection test's turn on the event loop
        report: Report | dict[str, Any] = from_thread.run(ask)
    except errors.HomeLibraryUnavailable as exc:
        report = {"reachable": False, "detail": exc.detail, "card": card}
    except errors.Problem as problem:
        return refused(request, admin, text, note, problem, show=show, card=card)
    reachable = report.get("reachable") if isinstance(report, dict) else report.reachable
    failed = "" if reachable else failed_mark(request, entry_id, text)
    return show(text, note=note, connection=report, card=card, failed=failed)


def failed_mark(request: Request, entry_id: str, text: str) -> str:
    """What the editor carries after a connection test of ``text`` failed (an HMAC of it), so
    that saving those very settings asks to confirm first."""
    message = f"connection test failed\n{entry_id}\n{text}".encode()
    return hmac.new(secret_of(request).encode(), message, hashlib.sha256).hexdigest()


def failed_test(request: Request, entry_id: str, text: str, mark: str) -> bool:
    """Whether the last connection test of exactly ``text`` failed (``mark``)."""
    return bool(mark) and hmac.compare_digest(failed_mark(request, entry_id, text), mark)


def refused(
    request: Request,
    admin: Admin,
    text: str,
    note: str,
    problem: errors.Problem,
    *,
    show: Show,
    card: str = "",
) -> Response:
    """The editor again, showing why the change was refused (the validator's problems in the
    text's lines), in the problem's status; a page of its own when there is no such entry."""
    if isinstance(problem, errors.NotFound):
        return problem_page(request, admin, problem)
    found = problem.problems if isinstance(problem, errors.InvalidAgreements) else []
    return show(text, note=note, card=card, error="" if found else problem.detail,
                problems=found, status=problem.status)  # fmt: skip
