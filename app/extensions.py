"""Flask extensions, created unbound and bound late in ``create_app``."""

import sqlite3
import threading

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

# Named constraints so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate(render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # SQLite ships with foreign keys off and a rollback journal; WAL lets the counter's
    # readers (live views) run while an answer is being written.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


# SQLite lets one connection write at a time. A second writer is told "busy" and SQLite's
# busy handler sleeps 1, 2, 5, 10… ms before it tries again, so under load the threads of a
# process slept in turn while the lock stood free. Queue them on a lock instead, held from
# a session's first write (flush) to the end of its transaction; other processes still
# meet the busy handler, but each brings one writer at a time.
_SQLITE_WRITER = threading.RLock()
_HOLDS_WRITER = "kakanai_sqlite_writer"


def _is_sqlite(session: Session) -> bool:
    bind = session.get_bind()
    return bind.dialect.name == "sqlite"


@event.listens_for(Session, "before_flush")
def _queue_for_the_writer(session: Session, _context: object, _instances: object) -> None:
    if not session.info.get(_HOLDS_WRITER) and _is_sqlite(session):
        _SQLITE_WRITER.acquire()
        session.info[_HOLDS_WRITER] = True


@event.listens_for(Session, "do_orm_execute")
def _queue_statements_for_the_writer(state: ORMExecuteState) -> None:
    # A bulk UPDATE/INSERT/DELETE (the atomic attempt counters) writes without a flush: it
    # must queue too, or it takes SQLite's lock while a flushing thread holds ours, and the
    # two wait on each other until busy_timeout ends in "database is locked".
    session = state.session
    writes = state.is_update or state.is_delete or state.is_insert
    if writes and not session.info.get(_HOLDS_WRITER) and _is_sqlite(session):
        _SQLITE_WRITER.acquire()
        session.info[_HOLDS_WRITER] = True


@event.listens_for(Session, "after_commit")  # before the case_changed announcements
def _leave_the_writer_on_commit(session: Session) -> None:
    if session.info.pop(_HOLDS_WRITER, False):
        _SQLITE_WRITER.release()


@event.listens_for(Session, "after_transaction_end")  # rollback, close
def _leave_the_writer(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and session.info.pop(_HOLDS_WRITER, False):
        _SQLITE_WRITER.release()
