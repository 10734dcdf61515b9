"""``flask db`` and ``flask petition``: registered by name, imported when one runs.

Every web worker builds the app, and so registers its commands. Importing them there would
load Alembic (through Flask-Migrate: about 11 MB with Mako and Pygments) and every domain's
command module in each worker, which never runs a command.

Each domain owns its commands, in ``petition/<domain>/cli.py`` (the worker's is in
``petition/worker.py``), listed in that module's ``COMMANDS``; ``flask petition`` gathers
them here when it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

import click
from flask import Flask
from flask.cli import ScriptInfo

from petition.config import RESOURCES
from petition.db import db


class LazyGroup(click.Group):
    """A command group that stands in for the one ``load`` returns until it is invoked."""

    def __init__(self, name: str, *, load: Callable[[Flask], click.Group], help: str) -> None:
        super().__init__(name, help=help)
        self._load = load

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The real group parses its own options (`flask db -d DIR …`) and runs its own
        # callback: Click invokes the command of the context returned here.
        context = parent or click.get_current_context()
        app = context.ensure_object(ScriptInfo).load_app()
        return self._load(app).make_context(info_name, args, parent=parent, **extra)


def init_migrate(app: Flask) -> None:
    """Bind Flask-Migrate to ``app``: before ``flask_migrate.upgrade()`` outside ``flask db``."""
    if "migrate" in app.extensions:
        return
    from flask_migrate import Migrate  # imports Alembic: only where migrations run

    Migrate(app, db, directory=str(RESOURCES / "migrations"), render_as_batch=True)


def _migrate_group(app: Flask) -> click.Group:
    init_migrate(app)
    group: click.Group = import_module("flask_migrate.cli").db
    return group


# The modules whose COMMANDS make up `flask petition`, in the order of the layers.
COMMAND_MODULES = (
    "petition.petitions.cli",
    "petition.signing.cli",
    "petition.export.cli",
    "petition.widget.cli",
    "petition.api.cli",
    "petition.moderation.cli",
    "petition.updates.cli",
    "petition.admin.cli",
    "petition.worker",
    "petition.status",
)
PETITION_HELP = "Run and manage the petition service."


def _petition_group(app: Flask) -> click.Group:
    group = click.Group("petition", help=PETITION_HELP)
    for name in COMMAND_MODULES:
        commands: tuple[click.Command, ...] = import_module(name).COMMANDS
        for command in commands:
            group.add_command(command)
    return group


def init_app(app: Flask) -> None:
    app.cli.add_command(LazyGroup("db", load=_migrate_group, help="Perform database migrations."))
    app.cli.add_command(LazyGroup("petition", load=_petition_group, help=PETITION_HELP))


def main() -> None:
    """The ``petition`` console command: ``flask --app wsgi petition …`` from any folder,
    with the app that ``create_app()`` makes from the environment."""
    from petition import create_app

    info = ScriptInfo(create_app=create_app, set_debug_flag=False)
    _petition_group(info.load_app()).main(prog_name="petition", obj=info)
