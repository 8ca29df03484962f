"""The ``hub`` command (docs/operations.md). Each group of subcommands lives in its own module,
imported when that command runs (or ``hub --help`` lists it): ``hub agreements check`` does not
load the database layer, and no command but ``hub serve`` and ``hub demo`` loads the web
application."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

import typer
from typer import _click as click
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import TyperInfo

#: each command's name, in the order ``hub --help`` lists them, and where it is defined: a
#: ``typer.Typer`` of subcommands, or the function of a single command
COMMANDS = {
    "serve": "identity.cli.serve:serve",
    "demo": "identity.cli.demo:demo",
    "lookups": "identity.cli.lookups:lookups",
    "agreements": "identity.cli.agreements:app",
    "db": "identity.cli.db:app",
    "audit": "identity.cli.audit:app",
    "patrons": "identity.cli.patrons:app",
    "clients": "identity.cli.clients:app",
    "keys": "identity.cli.keys:app",
    "saml": "identity.cli.saml:app",
    "connectors": "identity.cli.connectors:app",
    "admin": "identity.cli.admin:app",
}


class _Commands(Mapping[str, click.Command]):
    """The commands by name, each imported and made the first time it is looked up."""

    def __init__(self, app: typer.Typer) -> None:
        self._app = app
        self._made: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._made:
            module, attribute = COMMANDS[name].split(":")
            self._made[name] = self._make(name, getattr(importlib.import_module(module), attribute))
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)

    def _make(self, name: str, found: Any) -> click.Command:
        # as app.add_typer(found, name=name) and app.command()(found) would have made it
        app = self._app
        if isinstance(found, typer.Typer):
            return get_group_from_info(
                TyperInfo(found, name=name),
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
                suggest_commands=app.suggest_commands,
            )
        single = typer.Typer()
        single.command(name)(found)
        return get_command_from_info(
            single.registered_commands[0],
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
        )


class _Hub(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(app)  # type: ignore[assignment]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)


app = typer.Typer(
    name="hub",
    cls=_Hub,
    help="Reciprocal-borrowing patron identity hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _hub() -> None:
    # a group needs a callback or registered commands; the commands are in _Commands
    pass


def main() -> None:
    app()
