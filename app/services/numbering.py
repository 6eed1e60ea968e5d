"""Numbers handed out in order (case and booking numbers), never the same one twice.

Counting the rows and adding one gave two cases opened at once the same number (and, once
retention had purged a case, a number still in use): the second flush then failed on the
unique index with a 500. A series row is taken instead with one UPDATE, which holds the
row (PostgreSQL) or SQLite's write lock until the caller commits, so every process gets
the next number in turn.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import NumberSeries


def next_number(series: str, highest_in_use: int) -> int:
    """Take the next number of ``series`` (in the caller's transaction, which commits).

    ``highest_in_use`` seeds a series that has no row yet (numbers given before it
    existed): the first number taken is one more than it.
    """
    # Hold a connection before queueing for SQLite's writer (see app.services.rate_limits).
    db.session.connection()
    make = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        make(NumberSeries)
        .values(series=series, last=highest_in_use)
        .on_conflict_do_nothing(index_elements=["series"])
    )
    db.session.execute(
        update(NumberSeries).where(NumberSeries.series == series).values(last=NumberSeries.last + 1)
    )
    return int(
        db.session.scalar(select(NumberSeries.last).where(NumberSeries.series == series)) or 0
    )
