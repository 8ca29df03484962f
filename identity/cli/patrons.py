"""``hub patrons import``: load a library's patrons into the hub's registry from CSV."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.exc import SQLAlchemyError

from identity.cli import context
from identity.patrons import registry_import
from identity.store.database import transaction

app = typer.Typer(help="Patrons held by the hub (libraries with connector `registry`).")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV with a header; see docs/connectors.md.")],
    library: Annotated[str, typer.Option(help="The library the patrons belong to.")],
    skip_invalid: Annotated[
        bool, typer.Option(help="Import the valid rows even when others are rejected.")
    ] = False,
) -> None:
    """Check every row, then import them all (or, with --skip-invalid, exactly the valid ones)."""
    libraries = context.published(write=True).libraries
    if library not in libraries:
        context.fail(f"No library {library!r} in the published agreements.")
    if libraries[library].connector.kind != "registry":
        context.fail(
            f"{library} checks its cards with its {libraries[library].connector.kind} "
            "connector, not the hub's registry: its patrons are not imported."
        )
    try:
        checked = registry_import.read_csv(file, libraries[library])
    except registry_import.ImportRefused as exc:
        context.fail(f"{file}: {exc}; nothing imported.")
    for line, reason in checked.rejected:
        typer.echo(f"{file}:{line}: {reason}")
    rejected, valid = len(checked.rejected), len(checked.rows)
    if rejected and not skip_invalid:
        context.fail(
            f"{rejected} row{'s' if rejected != 1 else ''} rejected; nothing imported "
            f"(--skip-invalid imports the {valid} valid one{'s' if valid != 1 else ''})."
        )
    if not checked.rows:
        context.fail("No valid rows; nothing imported.")

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("Hashing PINs", total=valid)
        hashes = registry_import.hash_pins(
            checked.rows, lambda done: bar.update(task, completed=done)
        )
    try:
        with transaction(context.engine(write=True)) as session:
            result = registry_import.import_rows(
                session=session,
                library=library,
                rows=checked.rows,
                hashes=hashes,
                actor=context.actor(),
                rejected=rejected,
            )
    except SQLAlchemyError as exc:
        context.fail(f"{context.cannot_use(exc)}; nothing imported.")
    typer.echo(
        f"Imported {valid} patron{'s' if valid != 1 else ''} into {library} "
        f"({result.added} new, {result.updated} updated); {rejected} rejected."
    )
    if result.not_in_file:
        typer.echo(
            f"{result.not_in_file} patron(s) already in {library}'s registry are not in this "
            "file and were left as they are.",
            err=True,
        )
