"""``hub audit verify``: check that nobody edited the audit log behind the application's back."""

import typer
from sqlmodel import Session

from identity.admin import audit
from identity.cli import context

app = typer.Typer(help="The audit log.", no_args_is_help=True)


@app.command()
def verify() -> None:
    """Walk the hash chain; exit 1 and name every event that no longer matches."""
    with Session(context.engine()) as session:
        problems = audit.verify(session=session)
    for problem in problems:
        typer.echo(problem)
    if problems:
        typer.echo(f"{len(problems)} problem(s): the audit log was altered.", err=True)
        raise typer.Exit(1)
    typer.echo("The audit log is intact.")
