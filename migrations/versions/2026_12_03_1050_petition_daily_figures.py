"""petition daily figures: per day made, confirmed, held, released, invalidated (per
rule), withdrawn; the fold's cursors; backfilled from the signatures and the audit log

Revision ID: 6e2b9d4a7c15
Revises: 7e2b9d4c1a60
Create Date: 2026-12-03 10:50:00

Old petitions get their figures once, here: signatures made, confirmed and withdrawn per
UTC day from their own timestamps (the cursors start after the newest row), moderators'
releases, invalidations (per flag rule of the signatures invalidated) and undos from the
audit log, and, for hours before the fold recorded any, the counted signatures per hour
of their confirmation. A scan of signatures, once, in the migration: never in a request.
"""
import datetime as dt
from collections import Counter, defaultdict

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6e2b9d4a7c15'
down_revision = '7e2b9d4c1a60'
branch_labels = None
depends_on = None

EVENTS = ("signed", "confirmed", "held", "released", "invalidated", "withdrawn")
CHUNK = 1000


def _utc(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def upgrade():
    op.create_table(
        'petition_daily_figures',
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in EVENTS),
        sa.ForeignKeyConstraint(
            ['petition_id'], ['petitions.id'],
            name=op.f('fk_petition_daily_figures_petition_id_petitions'),
        ),
        sa.PrimaryKeyConstraint('petition_id', 'day', name=op.f('pk_petition_daily_figures')),
    )
    op.create_table(
        'petition_daily_invalidations',
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('rule', sa.String(length=20), nullable=False),
        sa.Column('invalidated', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['petition_id'], ['petitions.id'],
            name=op.f('fk_petition_daily_invalidations_petition_id_petitions'),
        ),
        sa.PrimaryKeyConstraint(
            'petition_id', 'day', 'rule', name=op.f('pk_petition_daily_invalidations')
        ),
    )
    op.create_table(
        'figures_cursors',
        sa.Column('event', sa.String(length=16), nullable=False),
        sa.Column('through_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('through_id', sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "event IN ('signed', 'confirmed', 'withdrawn')",
            name=op.f('ck_figures_cursors_event_known'),
        ),
        sa.PrimaryKeyConstraint('event', name=op.f('pk_figures_cursors')),
    )
    for column in ('verified_at', 'withdrawn_at'):
        op.create_index(
            op.f(f'ix_signatures_{column}_id'), 'signatures', [column, 'id'], unique=False,
            sqlite_where=sa.text(f'{column} IS NOT NULL'),
            postgresql_where=sa.text(f'{column} IS NOT NULL'),
        )
    _backfill()


def _backfill():
    bind = op.get_bind()
    signatures = sa.table(
        'signatures',
        sa.column('id', sa.Integer), sa.column('petition_id', sa.Integer),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('verified_at', sa.DateTime(timezone=True)),
        sa.column('withdrawn_at', sa.DateTime(timezone=True)),
        sa.column('flag_reasons', sa.String), sa.column('is_counted', sa.Boolean),
    )
    events = sa.table(
        'audit_events',
        sa.column('created_at', sa.DateTime(timezone=True)), sa.column('action', sa.String),
        sa.column('petition_id', sa.Integer), sa.column('affected', sa.Integer),
        sa.column('details', sa.JSON),
    )
    hourly = sa.table(
        'petition_hourly_counts',
        sa.column('petition_id', sa.Integer), sa.column('hour', sa.DateTime(timezone=True)),
        sa.column('counted', sa.Integer), sa.column('uncounted', sa.Integer),
    )
    first_hour = {
        petition_id: _utc(hour)
        for petition_id, hour in bind.execute(
            sa.select(hourly.c.petition_id, sa.func.min(hourly.c.hour)).group_by(hourly.c.petition_id)
        )
    }
    days = defaultdict(Counter)  # (petition_id, day) -> counts
    hours = Counter()  # (petition_id, hour) -> counted before the fold recorded hours
    last = {"signed": (None, 0), "confirmed": (None, 0), "withdrawn": (None, 0)}
    rows = bind.execute(
        sa.select(
            signatures.c.id, signatures.c.petition_id, signatures.c.created_at,
            signatures.c.verified_at, signatures.c.withdrawn_at,
            signatures.c.flag_reasons, signatures.c.is_counted,
        ).order_by(signatures.c.id)
    )
    for row_id, petition_id, created, verified, withdrawn, flags, counted in rows:
        created, verified, withdrawn = _utc(created), _utc(verified), _utc(withdrawn)
        made = days[(petition_id, created.date())]
        made["signed"] += 1
        if flags:
            made["held"] += 1
        last["signed"] = (None, row_id)
        for event, moment in (("confirmed", verified), ("withdrawn", withdrawn)):
            if moment is not None:
                days[(petition_id, moment.date())][event] += 1
                if last[event][0] is None or (moment, row_id) > last[event]:
                    last[event] = (moment, row_id)
        if counted and verified is not None:
            start = first_hour.get(petition_id)
            if start is None or verified < start:
                hours[(petition_id, verified.replace(minute=0, second=0, microsecond=0))] += 1
    by_rule = Counter()  # (petition_id, day, rule) -> invalidated
    for created, action, petition_id, affected, details in bind.execute(
        sa.select(
            events.c.created_at, events.c.action, events.c.petition_id,
            events.c.affected, events.c.details,
        ).where(
            events.c.action.in_(['flags.release', 'flags.invalidate', 'flags.reinstate']),
            events.c.petition_id.is_not(None),
        )
    ):
        day = _utc(created).date()
        figure = {'flags.release': 'released', 'flags.invalidate': 'invalidated',
                  'flags.reinstate': 'held'}[action]
        days[(petition_id, day)][figure] += affected or 0
        if action != 'flags.invalidate':
            continue
        ids = [int(i) for i in (details or {}).get('signature_ids', [])]
        for start in range(0, len(ids), CHUNK):
            for flags, n in bind.execute(
                sa.select(signatures.c.flag_reasons, sa.func.count())
                .where(signatures.c.id.in_(ids[start:start + CHUNK]))
                .group_by(signatures.c.flag_reasons)
            ):
                for rule in sorted(set((flags or '').split(','))):
                    if rule:
                        by_rule[(petition_id, day, rule)] += n
    daily = sa.table(
        'petition_daily_figures', sa.column('petition_id'), sa.column('day'),
        *(sa.column(name) for name in EVENTS),
    )
    _insert(bind, daily, [
        {'petition_id': p, 'day': d, **{e: counts.get(e, 0) for e in EVENTS}}
        for (p, d), counts in sorted(days.items())
    ])
    _insert(bind, sa.table(
        'petition_daily_invalidations', sa.column('petition_id'), sa.column('day'),
        sa.column('rule'), sa.column('invalidated'),
    ), [
        {'petition_id': p, 'day': d, 'rule': r, 'invalidated': n}
        for (p, d, r), n in sorted(by_rule.items())
    ])
    _insert(bind, hourly, [
        {'petition_id': p, 'hour': h, 'counted': n, 'uncounted': 0}
        for (p, h), n in sorted(hours.items())
    ])
    _insert(bind, sa.table(
        'figures_cursors', sa.column('event'),
        sa.column('through_at', sa.DateTime(timezone=True)), sa.column('through_id'),
    ), [
        {'event': event, 'through_at': at, 'through_id': row_id}
        for event, (at, row_id) in sorted(last.items())
    ])


def _insert(bind, table, rows):
    for start in range(0, len(rows), CHUNK):
        bind.execute(sa.insert(table), rows[start:start + CHUNK])


def downgrade():
    for column in ('withdrawn_at', 'verified_at'):
        op.drop_index(op.f(f'ix_signatures_{column}_id'), table_name='signatures')
    op.drop_table('figures_cursors')
    op.drop_table('petition_daily_invalidations')
    op.drop_table('petition_daily_figures')
