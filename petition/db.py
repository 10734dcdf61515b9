"""The one place that creates engines and sessions and owns the transaction.

A request commits once, after its view returned a successful response, and rolls
back otherwise; service functions only ``flush()``. Commands and the worker use
:func:`session_scope` for each unit of work.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import enum
import logging
from collections.abc import Iterator
from typing import Annotated, Any

import sqlalchemy as sa
from flask import Flask, Response, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, registry

from petition.config import current_settings

logger = logging.getLogger(__name__)

# Constraint names are fixed so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


int_pk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[dt.datetime, mapped_column(default=lambda: utcnow())]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# expire_on_commit=False: the reload after commit was half the cost of a naive sign
# endpoint measured on this machine, and nothing reads an object after its commit.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

# SQLite takes its write lock at the first write of a transaction; two writers that
# both started reading first then meet "database is locked" without waiting. Writing
# units announce themselves so that their transaction starts with BEGIN IMMEDIATE
# and queues on the busy timeout instead. Reads stay deferred and never block.
_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("immediate", default=False)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def engine_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def init_app(app: Flask) -> None:
    url = engine_url(current_settings(app).database_url)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    # hide_parameters: SQL logging (echo, or a root logger at INFO) and error
    # messages never carry the values bound to a statement: names, addresses.
    # pool_pre_ping: a pooled connection that a database restart closed is replaced
    # before use, so the first request after a restart does not fail on it (its cost on
    # the sign path is measured in the README, "Running unattended").
    options: dict[str, Any] = {
        "pool_pre_ping": current_settings(app).database_pool_pre_ping,
        "hide_parameters": True,
    }
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        options["pool_size"] = 5
        options["max_overflow"] = 5
        # Bounded waits: a database that cannot be reached answers 503 in seconds,
        # not after the operating system's TCP timeout (minutes).
        seconds = current_settings(app).database_connect_timeout_seconds
        options["connect_args"] = {"connect_timeout": seconds}
        options["pool_timeout"] = seconds
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)

    @app.before_request
    def _mark_writes() -> None:
        _immediate.set(request.method not in SAFE_METHODS)

    @app.after_request
    def _commit(response: Response) -> Response:
        # One commit per request, and only for a successful answer: a form that
        # failed validation or a rejected request leaves nothing half-written.
        # A request that never used the database (a cached page) has nothing to end:
        # making a session only to commit nothing was a visible share of its time.
        if not db.session.registry.has() or not db.session().in_transaction():
            return response
        try:
            if response.status_code < 400:
                db.session.commit()
            else:
                db.session.rollback()
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            # The database went away before the commit was acknowledged: the answer is
            # 503 (try again), not the success it had prepared. Every write here is
            # safe to repeat (a second signature with one address is "already signed").
            db.session.remove()
            from petition.errors import database_unavailable

            return database_unavailable(exc)  # type: ignore[return-value]
        return response


def _configure_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


@contextlib.contextmanager
def session_scope(*, write: bool = True) -> Iterator[Session]:
    """One unit of work outside a request: commit at the end, roll back on error."""
    token = _immediate.set(write)
    session = get_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _immediate.reset(token)
        db.session.remove()


@contextlib.contextmanager
def read_connection(bind: sa.Engine) -> Iterator[sa.Connection]:
    """A connection of its own for a long read, such as an export.

    On SQLite it begins a deferred transaction, so it never holds the write lock and
    signers keep writing meanwhile (WAL); on PostgreSQL it reads one snapshot
    (REPEATABLE READ), so all its queries agree with each other.
    """
    token = _immediate.set(False)
    try:
        with bind.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn
            conn.rollback()
    finally:
        _immediate.reset(token)


@contextlib.contextmanager
def deferred_writes() -> Iterator[None]:
    """Transactions begun inside are deferred, as for a read.

    For a response streamed after its request committed (a large download): its
    further reads must not take SQLite's write lock (BEGIN IMMEDIATE, chosen for
    POST requests) and keep signers waiting for as long as the download lasts.
    """
    token = _immediate.set(False)
    try:
        yield
    finally:
        _immediate.reset(token)


def get_session() -> Session:
    """The session of the current app context (request, command or worker)."""
    session: Session = db.session()
    return session


def str_enum(cls: type[enum.StrEnum]) -> sa.Enum:
    """A StrEnum stored as its value in a plain string column; the model adds a
    named CHECK constraint listing the values, so every database enforces them."""
    return sa.Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )
