"""Reports and exports off the primary: with `REPLICA_DATABASE_URL` set (a PostgreSQL streaming
replica of the primary), the reads made inside a reporting scope go to the replica while it is
reachable and no more than `REPLICA_MAX_LAG_SECONDS` behind; every other read, and every write,
goes to the primary. Nothing else reads the replica: a page that shows what its user has just
saved must read it where it was written.

- `@reporting` on a view (innermost, under the login decorators: the session and the user are
  read from the primary before it) runs it inside the scope, and once more on the primary if
  the replica fails under it — only for views that write nothing;
- `reading_replica()` is the scope as a context manager (a Celery task's reads, say);
- `streamed(rows_from)` streams rows after the view has returned (the scope is gone
  by then): from the replica if usable when the first row is asked for, from the primary if the
  replica fails before it.

Whether the replica is usable is probed at most every `PROBE_SECONDS` per process, not per
report: reachable, a standby, and its lag — 0 when it has replayed all the WAL the primary had
flushed before the probe (an idle primary's replica is current, however old its last replayed
transaction), otherwise the age of the last transaction it replayed. Reports read the primary
meanwhile, with one warning in the log per `WARN_SECONDS`; /healthz shows the state."""

import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, Error, InterfaceError, OperationalError, connections
from django.db.models import Model

ALIAS = "replica"
PROBE_SECONDS = 5.0  # a probe's answer serves the process's reports this long
WARN_SECONDS = 60.0  # while reports fall back to the primary, one warning per this period

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class _Scope:
    """One reporting scope; `used` once a read in it went to the replica."""

    used = False


_scope: ContextVar[_Scope | None] = ContextVar("crm_replica_scope", default=None)


@dataclass(frozen=True)
class State:
    usable: bool
    at: float  # time.monotonic() of the probe
    lag_s: float | None = None
    error: str = ""


_state: State | None = None
_probing = threading.Lock()
_warned_at = -math.inf


def configured() -> bool:
    return ALIAS in settings.DATABASES


class Router:
    """settings.DATABASE_ROUTERS when the replica is configured."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        scope = _scope.get()
        if scope is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            # Outside a report, or inside a transaction on the primary: Django's own choice
            # (the instance's database for its relations, the primary otherwise).
            return None
        if not usable():
            return DEFAULT_DB_ALIAS
        scope.used = True
        return ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # the same rows, wherever they were read

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


@contextmanager
def reading_replica() -> Iterator[None]:
    """Reads inside go to the replica while it is usable. Only for code that writes nothing
    it then reads back."""
    token = _scope.set(_Scope())
    try:
        yield
    finally:
        _scope.reset(token)


def reporting(view: Callable[P, R]) -> Callable[P, R]:
    """Runs a read-only view inside the reporting scope; if the replica fails under it, marks
    the replica down and runs the view again on the primary."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not configured():
            return view(*args, **kwargs)
        scope = _Scope()
        token = _scope.set(scope)
        try:
            return view(*args, **kwargs)
        except (OperationalError, InterfaceError) as error:
            if not scope.used or probe().usable:
                raise  # not the replica's failure
            _warn(f"{error.__class__.__name__} under a report")
        finally:
            _scope.reset(token)
        return view(*args, **kwargs)

    return wrapper


def read_alias() -> str:
    """The database a report's reads should use now, for `.using()`."""
    return ALIAS if configured() and usable() else DEFAULT_DB_ALIAS


def streamed(rows_from: Callable[[str], Iterator[R]]) -> Iterator[R]:
    """Rows streamed after the view has returned (the scope is gone by then), `rows_from` the
    database alias to read: the replica when it is usable as the first row is asked for; the
    primary when it is not, or fails before the first row."""
    alias = read_alias()
    rows = rows_from(alias)
    if alias != DEFAULT_DB_ALIAS:
        try:
            first = next(rows, _END)
        except (OperationalError, InterfaceError) as error:
            probe()
            _warn(f"{error.__class__.__name__} under an export")
            rows = rows_from(DEFAULT_DB_ALIAS)
        else:
            if first is _END:
                return
            yield cast(R, first)
    yield from rows


_END = object()


def usable() -> bool:
    state = current()
    if state is None:
        return False
    if not state.usable:
        _warn(state.error)
    return state.usable


def current() -> State | None:
    """The last probe's answer, probing again when it is older than PROBE_SECONDS; None
    without a replica."""
    if not configured():
        return None
    state = _state
    if state is not None and time.monotonic() - state.at < PROBE_SECONDS:
        return state
    with _probing:  # one probe at a time; the others take its answer
        state = _state
        if state is not None and time.monotonic() - state.at < PROBE_SECONDS:
            return state
        return probe()


def status() -> dict | None:
    """For /healthz: whether reports read the replica, and its lag; None without one."""
    state = current()
    if state is None:
        return None
    answer: dict[str, Any] = {"ok": state.usable, "reads": ALIAS if state.usable else "primary"}
    if state.lag_s is not None:
        answer["lag_s"] = round(state.lag_s, 1)
    if state.error:
        answer["error"] = state.error
    return answer


def probe() -> State:
    """Asks the replica now (and the primary how far its WAL goes) and keeps the answer."""
    global _state
    _state = _probe()
    return _state


def forget() -> None:
    """Drops the kept answer: the next report probes again."""
    global _state, _warned_at
    _state, _warned_at = None, -math.inf


def _probe() -> State:
    now = time.monotonic()
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            # Flushed, not just written: the replica can only have received what was flushed.
            cursor.execute("SELECT pg_current_wal_flush_lsn()::text")
            primary_lsn = cursor.fetchone()[0]
    except Error:
        primary_lsn = None  # the primary's own failure is /healthz's "database"
    standby_db = connections[ALIAS]
    try:
        if standby_db.connection is not None and not standby_db.is_usable():
            standby_db.close()  # broken under an earlier query: connect afresh
        with standby_db.cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(),"
                " pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn),"
                " pg_wal_lsn_diff(pg_last_wal_replay_lsn(), pg_last_wal_receive_lsn()),"
                " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())",
                [primary_lsn],
            )
            standby, behind_primary, behind_received, age = cursor.fetchone()
    except Error as error:
        standby_db.close()  # the next use connects afresh
        return State(False, now, error=f"unreachable ({error.__class__.__name__})")
    if not standby:
        # Promoted, or the URL names another server: its data no longer follows the primary.
        return State(False, now, error="not a standby")
    if behind_primary is not None:
        pending = behind_primary < 0
    else:  # the primary did not answer: what the replica received is all it knows of
        pending = behind_received is not None and behind_received < 0
    if not pending:
        lag = 0.0
    elif age is None:  # WAL to replay and no transaction replayed since it started
        return State(False, now, error="lag unknown")
    else:
        lag = max(float(age), 0.0)
    limit = settings.REPLICA_MAX_LAG_SECONDS
    if lag > limit:
        return State(False, now, lag, f"lag {lag:.1f} s over {limit:g} s")
    return State(True, now, lag)


def _warn(reason: str) -> None:
    global _warned_at
    now = time.monotonic()
    if now - _warned_at < WARN_SECONDS:
        return
    _warned_at = now
    log.warning("reports read the primary: the replica is not usable (%s)", reason)
