"""Reference endpoints for the benchmarks, kept out of the app.

``hello``: the cheapest Flask answer. ``insert``: a bare Flask + SQLAlchemy endpoint
that inserts one row per request. The service's endpoints are measured against
these in the same run, so the ratio says what the service adds to the framework.

    gunicorn 'bench.reference:create_app()'   (BENCH_DATABASE_URL chooses the database)
"""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa
from flask import Flask, request

metadata = sa.MetaData()
rows = sa.Table(
    "bench_rows",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
)


def engine_for(url: str) -> sa.Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")
            dbapi_conn.execute("PRAGMA busy_timeout=30000")

    return engine


def create_app() -> Flask:
    app = Flask(__name__)
    engine = engine_for(os.environ["BENCH_DATABASE_URL"])
    metadata.create_all(engine)
    # gunicorn.conf.py preloads the app in the master: a connection left in the pool
    # would be shared by every forked worker. On PostgreSQL two workers then spoke over
    # one socket at once, and make bench counted 64 socket errors on this endpoint.
    engine.dispose()
    app.extensions["bench_engine"] = engine

    @app.get("/hello")
    def hello() -> str:
        return "Hello, World!"

    @app.post("/insert")
    def insert() -> tuple[str, int]:
        email = request.form.get("email") or f"{uuid.uuid4().hex}@example.org"
        with engine.begin() as conn:
            conn.execute(rows.insert().values(email=email, name=request.form.get("name", "x")))
        return "", 201

    return app
