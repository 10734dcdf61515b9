"""``flask db`` and ``flask petition``: registered by name, imported when one runs.

Every web worker builds the app, and so registers its commands. Importing them there would
load Alembic (through Flask-Migrate: about 11 MB with Mako and Pygments) and every domain's
command module in each worker, which never runs a command.

Each domain owns its commands, in ``petition/<domain>/cli.py`` (the worker's is in
``petition/worker.py``), listed in that module's ``COMMANDS``; ``flask petition`` gathers
them here when it runs.

``flask petition verify`` needs none of the service (see :mod:`petition.export.verify_cli`),
so ``petition`` is also a Flask plugin command (:class:`PetitionCommands`, the
``flask.commands`` entry point in pyproject.toml): Flask finds it before loading the app,
and it runs the verify without the app, every other command in the app's own group.
This module is imported by every ``flask`` command in the environment, so it stays light.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo

from petition.config import RESOURCES


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

    from petition.db import db

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


# The commands run without creating the app, each by the module that holds it: they
# need nothing of the service (no database), and creating the app is most of their time.
WITHOUT_APP = {"verify": "petition.export.verify_cli"}
# What `flask --app …` names when it loads wsgi.py, whose app is create_app() from the
# environment: the commands above find the service's settings (its key) there too.
_WSGI_APP = {"wsgi", "wsgi:app", "wsgi.py", "wsgi.py:app"}


def _group_without_app(name: str) -> click.Group:
    command: click.Command = import_module(WITHOUT_APP[name]).verify_command
    return click.Group("petition", commands=[command], help=PETITION_HELP)


class PetitionCommands(click.Group):
    """``flask petition``, found by Flask before it loads the app (a plugin command).

    ``verify`` (:data:`WITHOUT_APP`) runs without the app when the app would be
    ``wsgi.py``'s, made from the environment; anything else (``--help`` too) loads the
    app and runs in the app's own ``petition`` group, with the app context pushed as
    Flask does for the app's commands. Without this plugin installed, Flask finds the
    app's group, and everything, the verify too, runs with the app as before.
    """

    def __init__(self) -> None:
        super().__init__("petition", help=PETITION_HELP)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        context = parent or click.get_current_context()
        info = context.ensure_object(ScriptInfo)
        if args and args[0] in WITHOUT_APP and info.app_import_path in _WSGI_APP:
            group = _group_without_app(args[0])
            return group.make_context(info_name, args, parent=parent, **extra)
        app = info.load_app()
        if not current_app or current_app._get_current_object() is not app:  # type: ignore[attr-defined]
            context.with_resource(app.app_context())
        own = app.cli.commands.get("petition")
        if own is None:
            raise click.UsageError(f"{info.app_import_path}: the app has no petition commands")
        return own.make_context(info_name, args, parent=parent, **extra)


# The `flask.commands` entry point (pyproject.toml): Flask adds it to `flask` by its name.
flask_plugin = PetitionCommands()


def main() -> None:
    """The ``petition`` console command: ``flask --app wsgi petition …`` from any folder,
    with the app that ``create_app()`` makes from the environment (not made for the
    commands in :data:`WITHOUT_APP`)."""

    def create_app() -> Flask:
        from petition import create_app

        return create_app()

    info = ScriptInfo(create_app=create_app, set_debug_flag=False)
    name = sys.argv[1] if len(sys.argv) > 1 else None
    group = _group_without_app(name) if name in WITHOUT_APP else _petition_group(info.load_app())
    group.main(prog_name="petition", obj=info)
