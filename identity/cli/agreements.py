"""``hub agreements check|load|explain``: the policy engine from the shell.

Exit codes: 0 done (whatever the decision), 1 the agreement files have problems (or nothing is
published yet), 2 bad usage.
"""

import json
from collections import Counter
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

import policies
from identity.cli import context

app = typer.Typer(help="Check agreement files and explain decisions.", no_args_is_help=True)

Paths = Annotated[
    list[Path],
    typer.Argument(
        help="Agreement files, or directories of *.yaml files, read as one set.", metavar="PATH..."
    ),
]
OptionalPaths = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Agreement files or directories; without any, the set published in the database.",
        metavar="[PATH...]",
        show_default=False,
    ),
]


def _load(sources: list[tuple[str, str]]) -> policies.Agreements:
    try:
        return policies.load_sources(sources, limits=context.settings().agreement_limits())
    except policies.InvalidAgreements as exc:
        raise context.report(exc, "nothing loaded") from None


@app.command()
def check(paths: Paths) -> None:
    """Validate agreement files: every problem with file, line and column, or what was loaded,
    and its warnings (likely mistakes that do not stop it loading)."""
    from policies.warnings import warnings

    sources = policies.read(*paths)
    agreements = _load(sources)
    kinds = Counter(a.kind for a in agreements.agreements.values())
    by_kind = ", ".join(f"{kinds[k]} {k}" for k in ("consortium", "bilateral", "suspension"))
    typer.echo(
        f"OK: {len(agreements.libraries)} libraries, {len(agreements)} agreements ({by_kind}) "
        f"from {len(sources)} file{'s' if len(sources) != 1 else ''}; "
        f"categories: {', '.join(sorted(agreements.categories))}"
    )
    found = warnings(agreements)
    for warning in found:
        typer.echo(f"warning: {warning}")
    if found:
        typer.echo(f"{len(found)} warning{'s' if len(found) != 1 else ''} (not problems: "
                   "the files load as they are)")  # fmt: skip


@app.command()
def load(
    paths: Paths,
    note: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Validate, then publish the files to the database as one new version (all or nothing)."""
    # the database layer, here and in context.published(): check and explain from files
    # start without it
    from identity.agreements import publishing
    from identity.store.database import transaction

    sources = policies.read(*paths)
    limits = context.settings().agreement_limits()
    try:
        policies.load_sources(sources, limits=limits)  # problems name the paths as given
    except policies.InvalidAgreements as exc:
        raise context.report(exc, "nothing published") from None
    # stored under their file names, so the same files are the same version however reached
    named = [(Path(name).name, text) for name, text in sources]
    clashes = sorted(n for n, count in Counter(n for n, _ in named).items() if count > 1)
    if clashes:
        typer.echo(f"Two files are both named {clashes[0]}: rename one.", err=True)
        raise typer.Exit(1)
    with transaction(context.engine(write=True)) as session:
        version, new = publishing.publish(
            session=session, sources=named, actor=context.actor(), note=note, limits=limits
        )
        number, libraries, agreements = version.id, version.libraries, version.agreements
    if new:
        typer.echo(
            f"Published version {number}: {libraries} libraries, {agreements} agreements "
            f"from {len(sources)} file{'s' if len(sources) != 1 else ''}."
        )
    else:
        typer.echo(f"Unchanged: version {number} is already these files.")


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected a date like 2026-11-22, got {value!r}", param_hint=option
        ) from None


def _usage(message: str, option: str) -> typer.BadParameter:
    return typer.BadParameter(message, param_hint=option)


@app.command()
def explain(
    lender: Annotated[str, typer.Option(help="The library asked to lend.")],
    home: Annotated[str, typer.Option(help="The patron's home library.")],
    paths: OptionalPaths = None,
    category: Annotated[
        str | None, typer.Option(help="The patron's hub category, e.g. undergraduate.")
    ] = None,
    ils_category: Annotated[
        str | None,
        typer.Option(help="Or the home ILS's category code, mapped by the home library's map."),
    ] = None,
    material: Annotated[str | None, typer.Option(help="Material asked for, e.g. book.")] = None,
    on: Annotated[str | None, typer.Option(help="Date to decide for (default: today).")] = None,
    fines: Annotated[str, typer.Option(help="Fines the patron owes at home.")] = "0",
    flags: Annotated[
        str, typer.Option(help="Comma-separated status flags, e.g. charge_denied,card_lost.")
    ] = "",
    card_expires: Annotated[str | None, typer.Option(help="Card expiry date.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the decision as the eligibility API's JSON.")
    ] = False,
) -> None:
    """Decide whether LENDER may lend to a patron of HOME, and say why."""
    agreements = _load(policies.read(*paths)) if paths else context.published()
    for option, library in (("--lender", lender), ("--home", home)):
        if library not in agreements.libraries:
            known = ", ".join(agreements.libraries)
            raise _usage(f"unknown library {library!r}; known: {known}", option)
    if (category is None) == (ils_category is None):
        raise _usage("give exactly one of --category and --ils-category", "--category")
    if ils_category is not None:
        category = agreements.libraries[home].hub_category(ils_category)
        if category is None:
            codes = ", ".join(agreements.libraries[home].categories) or "none"
            raise _usage(
                f"{home} has no category code {ils_category!r}; its codes: {codes}",
                "--ils-category",
            )
    assert category is not None
    try:
        owed = Decimal(fines)
    except InvalidOperation:
        raise _usage(f"expected an amount like 12.50, got {fines!r}", "--fines") from None
    flag_set = frozenset(f.strip() for f in flags.split(",") if f.strip())
    unknown = sorted(flag_set - set(policies.FLAGS))
    if unknown:
        raise _usage(
            f"unknown flag {unknown[0]!r}; the flags are: {', '.join(policies.FLAGS)}", "--flags"
        )

    try:
        request = policies.BorrowRequest(
            lender=lender,
            home_library=home,
            category=category,
            on=_date(on, "--on") or date.today(),
            material=material,
            fines=owed,
            flags=flag_set,
            card_expires=_date(card_expires, "--card-expires"),
        )
    except ValueError as exc:
        raise _usage(str(exc), "--fines") from None
    decision = agreements.decide(request)
    if as_json:
        typer.echo(json.dumps(decision.to_dict(), indent=2))
    else:
        typer.echo(_describe(agreements, request, decision))


def _describe(
    agreements: policies.Agreements, request: policies.BorrowRequest, decision: policies.Decision
) -> str:
    libs = agreements.libraries
    lines = [
        f"Lender:       {request.lender} ({libs[request.lender].name})",
        f"Home library: {request.home_library} ({libs[request.home_library].name})",
        f"Category:     {request.category}",
        f"Material:     {request.material or '(any)'}",
        f"On:           {request.on.isoformat()}",
        "",
    ]
    if decision.eligible:
        deciding = decision.agreements[0]
        kind = agreements.agreements[deciding].kind
        lines.append(f"ELIGIBLE under {deciding} ({kind}, {agreements.source(deciding)})")
        if len(decision.agreements) > 1:
            lines.append(f"  also admitted by: {', '.join(decision.agreements[1:])}")
        terms = decision.terms
        assert terms is not None
        lines.append(
            f"  terms: up to {terms.max_items} items for {terms.loan_days} days, "
            f"{terms.renewals} renewals, {terms.holds} holds"
            + (
                f"; excluded: {', '.join(terms.excluded_material)}"
                if terms.excluded_material
                else ""
            )
        )
        until = decision.valid_until
        lines.append(f"  valid until: {until.isoformat() if until else 'no end date'}")
    else:
        lines.append("NOT ELIGIBLE")
        if decision.agreements:
            lines.append(f"  considered: {', '.join(decision.agreements)}")
        lines.extend(f"  - {reason.message} [{reason.code.value}]" for reason in decision.reasons)
    return "\n".join(lines)
