"""Time an update to many signers: counting the recipients and the worker's fan-out.

A fresh SQLite database (or a scratch PostgreSQL database with ``--database-url``)
gets N verified, counted, consenting signatures by bulk insert (a third of them read
the petition in Arabic). Then, in this process: the recipient count and the count per
language (what /admin's update page runs on every view), ``send()``, and
:func:`petition.updates.fanout.fan_out` in batches until every recipient has a
message, as the worker runs it. Printed: wall and CPU seconds of each, and the
fan-out's messages per second of CPU (a shared machine's wall time mostly measures
the others). Sending the messages is the mail worker's own figure (``make bench``).

Run: ``.venv/bin/python -m bench.updates`` (``--size 100000`` by default).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DARAA = ROOT / "content" / "defend-the-people-of-daraa.md"
ARABIC = ROOT / "content" / "defend-the-people-of-daraa.ar.md"
CHUNK = 20_000


class Timer:
    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:7.2f} s wall, {self.cpu:7.2f} s CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--database-url", default="", help="a scratch database (emptied)")
    options = parser.parse_args()

    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from petition import create_app
    from petition.commands import init_migrate
    from petition.config import Settings
    from petition.db import db, session_scope
    from petition.petitions import service as petitions
    from petition.signing.models import Signature
    from petition.updates import fanout
    from petition.updates import service as updates
    from petition.updates.models import UpdateKind

    instance = tempfile.mkdtemp(prefix="bench-updates-")
    url = options.database_url or f"sqlite:///{instance}/bench.sqlite3"
    app = create_app(Settings(instance_path=instance, database_url=url))
    init_migrate(app)
    with app.app_context():
        if options.database_url:
            downgrade(revision="base")
        upgrade()
        with session_scope() as session:
            petition = petitions.publish(session, source=petitions.parse_petition_file(DARAA))
            translation = petitions.parse_file(ARABIC)
            assert isinstance(translation, petitions.TranslationSource)
            petitions.add_translation(session, source=translation)
            petition_id, version_id = petition.id, petition.current_version_id
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for low in range(0, options.size, CHUNK):
            rows = [
                {
                    "petition_id": petition_id,
                    "version_id": version_id,
                    "name": f"Signer {n}",
                    "email": f"signer{n}@example.org",
                    "canonical_email": f"signer{n}@example.org",
                    "country": "SY",
                    "has_update_consent": True,
                    "locale": "ar" if n % 3 == 0 else "en",
                    "status": "verified",
                    "source": "page",
                    "is_counted": True,
                    "sequence": n,
                    "created_at": start,
                    "verified_at": start,
                }
                for n in range(low + 1, min(low + CHUNK, options.size) + 1)
            ]
            with session_scope() as session:
                session.execute(sa.insert(Signature.__table__), rows)

        with session_scope() as session:
            petition = petitions.find(session, "defend-the-people-of-daraa")
            assert petition is not None
            with Timer() as counting:
                count = updates.recipient_count(session, petition=petition)
            with Timer() as by_language:
                languages = updates.recipients_by_language(session, petition=petition)
            text = updates.TextSource(subject="Delivered", body="We delivered it **today**.")
            with Timer() as sending:
                draft = updates.save_draft(
                    session,
                    petition=petition,
                    source=updates.DraftSource(
                        kind=UpdateKind.NEWS, texts={"en": text, "ar": text}
                    ),
                    actor="bench",
                )
                updates.send(session, petition=petition, update=draft, actor="bench", min_days=7)
        queued = 0
        with Timer() as fanning:
            while True:
                with session_scope() as session:
                    done = fanout.fan_out(
                        session, base_url="https://example.org", limit=options.batch
                    )
                if not done:
                    break
                queued += done
        db.engine.dispose()

    print(f"{url.split(':')[0]}, {options.size:,} signatures")
    print(f"  recipient count ({count:,})          {counting}")
    print(f"  count per language {languages}  {by_language}")
    print(f"  send (request: cap, count, audit)    {sending}")
    print(f"  fan-out of {queued:,} in batches of {options.batch}  {fanning}")
    print(
        f"  fan-out: {queued / fanning.cpu:,.0f} messages per CPU second, "
        f"{queued / fanning.wall:,.0f} per wall second"
    )


if __name__ == "__main__":
    main()
