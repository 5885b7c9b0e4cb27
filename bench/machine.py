"""What the database benchmarks share about the machine they run on: waiting until no other
heavy job shares the two cores, and riding out a PostgreSQL restart (the fault tests restart
it) by waiting for it and running the step again."""

import os
import subprocess
import time

BUSY_PATTERN = "pytest|intake_bench|queue_bench|locust"

# What had to be run again after a lost connection, for the report at the end.
RETRIES: list[str] = []


def busy_processes() -> list[str]:
    found = subprocess.run(
        ["pgrep", "-af", BUSY_PATTERN], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    mine = str(os.getpid())
    return [line[:160] for line in found if line.split(" ", 1)[0] != mine]


def wait_idle(label: str, args, max_s: float = 1200, every_s: float = 30) -> dict:
    """Wait until no other heavy benchmark or test run is going (unless args.no_wait);
    returns what was seen."""
    t0 = time.monotonic()
    busy = busy_processes()
    while busy and not args.no_wait and time.monotonic() - t0 < max_s:
        names = "; ".join(" ".join(b.split(" ")[1:4])[:70] for b in busy)
        print(f"  [{label}] waiting for an idle machine ({len(busy)} busy: {names})", flush=True)
        time.sleep(every_s)
        busy = busy_processes()
    state = {
        "label": label,
        "waited_s": time.monotonic() - t0,
        "busy": busy,
        "load": os.getloadavg()[0],
    }
    # the connection may have gone while waiting (the fault tests restart PostgreSQL)
    wait_for_db()
    note = "idle" if not busy else f"STILL BUSY, ran anyway: {busy}"
    print(f"  [{label}] waited {state['waited_s']:.0f} s; {note}; load {state['load']:.2f}")
    return state


def wait_for_db(max_s: float = 300) -> None:
    """After a lost connection: wait until PostgreSQL answers again."""
    from django.db import connection

    t0 = time.monotonic()
    while True:
        connection.close()
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT 1")
            return
        except Exception:
            if time.monotonic() - t0 > max_s:
                raise
            time.sleep(2)


def db_retry(fn, what: str, attempts: int = 4, undo=None):
    """Run fn; when the connection to PostgreSQL is lost, wait for it, undo what a partly
    committed fn left (when given) and run fn again."""
    from django.db import InterfaceError, OperationalError

    for attempt in range(attempts):
        try:
            return fn()
        except (OperationalError, InterfaceError) as error:
            if attempt == attempts - 1:
                raise
            first = (str(error).strip().splitlines() or [""])[0]
            print(f"  [{what}] lost the database ({first}); waiting, then again", flush=True)
            RETRIES.append(what)
            wait_for_db()
            if undo is not None:
                undo()
    return None
