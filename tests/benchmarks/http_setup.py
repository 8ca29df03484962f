"""Prepares a database for the HTTP benchmark (``bench_http.py``) the way an operator would,
with the ``hub`` commands, run in this one process so that the hub is imported once:

    HUB_DATABASE_URL=... python tests/benchmarks/http_setup.py PATRONS.csv REDIRECT_URI

``hub db upgrade``, ``hub agreements load policies/examples``, ``hub patrons import`` of the
CSV into rmit (a registry library), and ``hub clients add`` of a partner client and a relying
party of monash. Prints ``{"partner": {client_id, client_secret}, "rp": {...}}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import policies
from identity.cli import app

EXAMPLES = Path(policies.__file__).parent / "examples"
LENDER, HOME = "monash", "rmit"


def hub(*args: str) -> str:
    """What ``hub ARGS`` prints; SystemExit with its messages if it fails."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = app(list(args), prog_name="hub", standalone_mode=False)
        except SystemExit as exc:  # typer.Exit is returned as a status, click's own raise
            status = exc.code
    if status not in (None, 0):
        raise SystemExit(f"hub {' '.join(args)}: exit {status}\n{out.getvalue()}{err.getvalue()}")
    return out.getvalue()


def main(patrons: str, redirect_uri: str) -> dict[str, Any]:
    hub("db", "upgrade")
    hub("agreements", "load", str(EXAMPLES), "--note", "HTTP benchmark")
    hub("patrons", "import", patrons, "--library", HOME)
    partner = hub("clients", "add", "--library", LENDER, "--kind", "partner", "--json")
    rp = hub(
        "clients", "add", "--library", LENDER, "--kind", "rp", "--redirect-uri", redirect_uri,
        "--json",
    )  # fmt: skip
    return {"partner": json.loads(partner), "rp": json.loads(rp)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
