"""Time the delivery mail: queueing one mail per consenting signer of a delivered batch.

A fresh SQLite database (or a scratch PostgreSQL database with ``--database-url``)
gets N verified, counted signatures by bulk insert, every ``--every``-th of them asking
for the delivery mail (a third of those read the page in Arabic). One batch is made and
marked delivered, then :func:`petition.export.notices.queue_delivery_mail` runs in
chunks until it has nothing left, as the worker runs it, and once more, which must
queue nothing. Printed: wall and CPU seconds, mails per CPU second (a shared machine's
wall time mostly measures the others), and that each consenting signer got one mail.

Run: ``.venv/bin/python -m bench.delivery_mail`` (``--size 20000`` by default).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path

from bench.updates import CHUNK, DARAA, Timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=2, help="every n-th signer asks")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--database-url", default="", help="a scratch database (emptied)")
    options = parser.parse_args()

    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from petition import create_app
    from petition.commands import init_migrate
    from petition.config import Settings
    from petition.db import db, session_scope
    from petition.export import batch_key, batches, delivery, notices
    from petition.mail.models import OutboxMessage
    from petition.petitions import service as petitions
    from petition.petitions.models import Petition
    from petition.signing.models import Signature

    instance = tempfile.mkdtemp(prefix="bench-delivery-mail-")
    url = options.database_url or f"sqlite:///{instance}/bench.sqlite3"
    app = create_app(Settings(instance_path=instance, database_url=url))
    init_migrate(app)
    with app.app_context():
        if options.database_url:
            downgrade(revision="base")
        upgrade()
        with session_scope() as session:
            petition = petitions.publish(session, source=petitions.parse_petition_file(DARAA))
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
                    "has_delivery_consent": n % options.every == 0,
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
            session.execute(
                sa.update(Petition).values(signature_count=options.size, last_sequence=options.size)
            )
        out = Path(instance) / "batches"
        out.mkdir()
        with Timer() as making, session_scope() as session:
            petition = petitions.find(session, "defend-the-people-of-daraa")
            assert petition is not None
            batches.make_batch(
                session, petition=petition, out_dir=out, key=batch_key.app_key(app), actor="bench"
            )
        with session_scope() as session:
            petition = petitions.find(session, "defend-the-people-of-daraa")
            assert petition is not None
            delivery.mark_delivered(
                session, petition=petition, sequence=1, to="The Governor", actor="bench"
            )
        queued = 0
        with Timer() as queueing:
            while True:
                with session_scope() as session:
                    done = notices.queue_delivery_mail(
                        session, base_url="https://example.org", limit=options.batch
                    )
                if not done:
                    break
                queued += done
        with Timer() as again, session_scope() as session:
            more = notices.queue_delivery_mail(
                session, base_url="https://example.org", limit=options.batch
            )
        with session_scope(write=False) as session:
            recipients = session.scalar(
                sa.select(sa.func.count(sa.distinct(OutboxMessage.to_address))).where(
                    OutboxMessage.template == notices.TEMPLATE
                )
            )
        db.engine.dispose()

    asked = options.size // options.every
    print(f"{url.split(':')[0]}, {options.size:,} signatures, {asked:,} asked for the mail")
    print(f"  batch made                          {making}")
    print(f"  {queued:,} mails queued in chunks of {options.batch}  {queueing}")
    print(
        f"  {queued / queueing.cpu:,.0f} mails per CPU second, "
        f"{queued / queueing.wall:,.0f} per wall second"
    )
    print(f"  a further pass queued {more} ({again.wall * 1000:.1f} ms wall)")
    print(f"  distinct recipients {recipients:,} of {asked:,} who asked")


if __name__ == "__main__":
    main()
