"""``hub lookups``: who asked the eligibility API about a home library's patrons."""

import json
from datetime import UTC, date, datetime, time
from typing import Annotated

import typer
from sqlmodel import Session, col, select

from identity.cli import context
from identity.patrons.cards import NotACard, read_card
from identity.store.models import EligibilityLookup, as_utc


def lookups(
    home_library: Annotated[str, typer.Option(help="The library whose patrons were asked about.")],
    since: Annotated[str | None, typer.Option(help="Only from this day (YYYY-MM-DD) on.")] = None,
    card: Annotated[str | None, typer.Option(help="Only questions about this card.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List every eligibility question about the library's patrons: when, which client (and
    its library) asked, about which card, and the answer. A library that is neither in the set
    in force nor asked about is bad usage (exit 2)."""
    query = select(EligibilityLookup).where(EligibilityLookup.home_library == home_library)
    if since is not None:
        try:
            start = datetime.combine(date.fromisoformat(since), time.min, tzinfo=UTC)
        except ValueError:
            context.fail(f"--since must be a date like 2026-11-22, not {since!r}")
        query = query.where(col(EligibilityLookup.at) >= start)
    if card is not None:
        try:
            card = read_card(card)
        except NotACard as exc:
            context.fail(f"--card: {exc}")
        query = query.where(EligibilityLookup.card == card)
    with Session(context.engine()) as session:
        rows = session.exec(query.order_by(col(EligibilityLookup.id))).all()
    if not rows:  # a library since removed from the set still has its questions listed
        known = context.published().libraries
        if home_library not in known:
            raise typer.BadParameter(
                f"unknown library {home_library!r}; known: {', '.join(known)}",
                param_hint="--home-library",
            )
    for row in rows:
        record = {
            "at": as_utc(row.at).isoformat(timespec="seconds"),
            "client_id": row.client_id,
            "lender": row.lender,
            "card": row.card,
            "by": row.by,
            "answer": row.answer,
            "reasons": row.reasons,
        }
        if as_json:
            typer.echo(json.dumps(record))
        else:
            reasons = f" ({', '.join(row.reasons)})" if row.reasons else ""
            typer.echo(
                f"{record['at']}  {row.lender:10} {row.client_id:28} {row.card or '-':16} "
                f"by {row.by:7} {row.answer}{reasons}"
            )
    if not as_json:
        typer.echo(f"{len(rows)} question(s) about {home_library}'s patrons.", err=True)
