"""``hub-client``: the SDK from a shell.

    hub-client check --issuer URL --client-id ID --client-secret-env VAR \\
        --home-library rmit --card 21110000000001 [--material book] [--on 2026-11-22] [--json]

Exit status: 0 eligible, 1 not eligible, 2 the question could not be answered (an error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from hub_client.client import HubClient
from hub_client.errors import HubError, ProblemError
from hub_client.models import Decision

ELIGIBLE, NOT_ELIGIBLE, ERROR = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="hub-client", description="Ask the reciprocal-borrowing hub's eligibility API."
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="may my library lend to this patron?",
        description="Ask whether your library may lend to a patron of another library. "
        "Exit status: 0 eligible, 1 not eligible, 2 error.",
    )
    check.add_argument("--issuer", required=True, help="the hub's URL, e.g. https://hub.example")
    check.add_argument("--client-id", required=True, help="your partner client's id")
    secret = check.add_mutually_exclusive_group(required=True)
    secret.add_argument("--client-secret", help="its secret (visible to other local users)")
    secret.add_argument(
        "--client-secret-env", metavar="VAR", help="the environment variable holding the secret"
    )
    who = check.add_argument_group("the patron: --home-library and --card, or --patron")
    who.add_argument("--home-library", metavar="LIBRARY", help="the patron's library id")
    who.add_argument("--card", help="the patron's card number")
    who.add_argument("--patron", metavar="SUB", help="the sub your library got at sign-in")
    check.add_argument("--material", help="the kind of material (default: any)")
    check.add_argument("--on", type=_date, metavar="YYYY-MM-DD", help="the day (default: today)")
    check.add_argument("--json", action="store_true", help="print the decision as JSON")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hub-client`` with ``argv`` (default: the command line); returns the exit status."""
    args = parser().parse_args(argv)
    secret = args.client_secret
    if args.client_secret_env is not None:
        secret = os.environ.get(args.client_secret_env)
        if not secret:
            return _fail(f"the environment variable {args.client_secret_env} is not set")
    by_card = args.home_library is not None or args.card is not None
    if args.patron is not None and by_card:
        return _fail("give --patron, or --home-library and --card, not both")
    if args.patron is None and (args.home_library is None or args.card is None):
        return _fail("give --home-library and --card (or --patron)")
    try:
        with HubClient(args.issuer, args.client_id, secret) as hub:
            decision = hub.check(
                home_library=args.home_library,
                card=args.card,
                patron=args.patron,
                material=args.material,
                on=args.on,
            )
    except ProblemError as exc:
        if args.json:
            print(json.dumps(exc.body or {"title": exc.title, "status": exc.status}, indent=2))
        return _fail(f"{exc.type}: {exc}")
    except HubError as exc:
        return _fail(f"{type(exc).__name__}: {exc}")
    print(json.dumps(to_json(decision), indent=2) if args.json else describe(decision))
    return ELIGIBLE if decision.eligible else NOT_ELIGIBLE


def to_json(decision: Decision) -> dict[str, Any]:
    """The decision as the API's JSON."""
    data = asdict(decision)
    data["valid_until"] = None if decision.valid_until is None else decision.valid_until.isoformat()
    data["decided_at"] = decision.decided_at.isoformat().replace("+00:00", "Z")
    return data


def describe(d: Decision) -> str:
    """The decision for people to read."""
    category = f" ({d.patron_category})" if d.patron_category else ""
    lines = [
        f"{'ELIGIBLE' if d.eligible else 'NOT ELIGIBLE'}: {d.lender} "
        f"{'may' if d.eligible else 'may not'} lend to this {d.home_library} patron{category}"
    ]
    if d.terms is not None:
        t = d.terms
        terms = f"up to {_n(t.max_items, 'item')} for {t.loan_days} days, "
        terms += f"{_n(t.renewals, 'renewal')}, {_n(t.holds, 'hold')}"
        if t.excluded_material:
            terms += f"; excluded: {', '.join(t.excluded_material)}"
        lines.append(f"  terms:       {terms}")
    for reason in d.reasons:
        source = f" ({reason.agreement})" if reason.agreement else ""
        lines.append(f"  because:     {reason.code}{source}: {reason.message}")
        if reason.advice:
            lines.append(f"  tell them:   {reason.advice}")
    if d.agreements:
        label = "under:      " if d.eligible else "considered: "
        lines.append(f"  {label} {', '.join(d.agreements)}")
    if d.valid_until is not None:
        lines.append(f"  valid until: {d.valid_until.isoformat()}")
    lines.append(f"  decided at:  {d.decided_at.isoformat()}")
    return "\n".join(lines)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _fail(message: str) -> int:
    print(f"hub-client: {message}", file=sys.stderr)
    return ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
