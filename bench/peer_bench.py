#!/usr/bin/env python
"""Our queue page and Take next against a public Django CRM's lead list, both under gunicorn
with 2 workers on this machine's PostgreSQL, requests interleaved, in one command.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \\
        .venv/bin/python bench/peer_bench.py --peer /work/peer/django-crm \\
        [--peer-python /work/peer/venv/bin/python] [--requests 200] [--clients 1,4]

The peer is DjangoCRM (https://github.com/DjangoCRM/django-crm, branch v1.7.x-LTS; its main
branch needs Python >= 3.12). Its checkout and venv stay outside this repository:

    git clone -b v1.7.x-LTS https://github.com/DjangoCRM/django-crm /work/peer/django-crm
    python3.11 -m venv /work/peer/venv
    grep -v mysqlclient /work/peer/django-crm/requirements.txt > /tmp/peer-req.txt
    /work/peer/venv/bin/pip install -r /tmp/peer-req.txt psycopg2-binary gunicorn

(--peer or PEER_CRM; the venv defaults to the checkout's sibling `venv`.)

What it does:
1. The peer: runs bench/peer_side.py with the peer's Python and bench/peer_settings.py (its own
   settings on PostgreSQL, database PEER_DATABASE_URL, default peer_crm, created if missing):
   migrations, its fixtures, 10 sales managers in two departments, 100,000 leads with
   bulk_create unless already there (the measured manager owns 10,000), and a session.
2. Ours: the harness's world (10 qualification teams) and 100,000 leads (10% open) unless
   already there, the measured qualifier of team 01 (~10,000 leads of the team, ~1,000 open)
   and a session.
3. Starts both under gunicorn, 2 sync workers each (ours with gunicorn.conf.py, the
   production shape), and warms each target up.
4. For 1 and 4 clients: 200 timed requests per target — our GET /leads/, our POST
   /leads/take-next/ (each claimed lead is released after its request, untimed, as "no
   answer" does; the new leads' queue columns are put back as they were when the run ends)
   and the peer's lead list GET (a Django-admin changelist, 100 rows, the manager's own leads)
   — interleaved in blocks of 10 requests per client, the target order rotating each round,
   so both servers see the same machine. Every answer is checked (status; the lead list's
   100 rows).
5. Prints p50 / p95 per target and the ratios peer / ours, with the load average.
"""

import argparse
import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402 - after the path is set
    claimed_lead_id,
    clear_leads,
    django_setup,
    ensure_database,
    free_port,
    grow_leads,
    logged_in,
    make_world,
    migrate_and_collect,
    pct,
    pools,
    queue_snapshot,
    release_claim,
    restore_queue,
    table_summary,
    vacuum_analyze,
)

HOW_TO_GET = __doc__.split("Its checkout and venv stay outside this repository:")[1].split(
    "What it does:"
)[0]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", default=os.environ.get("PEER_CRM", ""), help="peer checkout")
    parser.add_argument("--peer-python", default="", help="default: <peer>/../venv/bin/python")
    parser.add_argument(
        "--peer-db",
        default=os.environ.get("PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/peer_crm"),
    )
    parser.add_argument("--leads", type=int, default=100_000, help="leads in each CRM")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per target")
    parser.add_argument("--clients", default="1,4", help="concurrent clients, each in turn")
    parser.add_argument("--block", type=int, default=10, help="requests per client per block")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per target")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers each")
    args = parser.parse_args()
    if not args.peer or not (Path(args.peer) / "webcrm" / "settings.py").exists():
        sys.exit(
            "Give the peer's checkout (--peer PATH or PEER_CRM=PATH): DjangoCRM/django-crm, "
            f"branch v1.7.x-LTS. To get it:\n{HOW_TO_GET}"
        )
    args.peer = Path(args.peer).resolve()
    args.peer_python = Path(args.peer_python or args.peer.parent / "venv" / "bin" / "python")
    if not args.peer_python.exists():
        sys.exit(f"No Python at {args.peer_python} (--peer-python). To make it:\n{HOW_TO_GET}")
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    return args


# ------------------------------------------------------------------------------ the two CRMs


def peer_env(args) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'bench'}:{args.peer}",
        "DJANGO_SETTINGS_MODULE": "peer_settings",
        "PEER_DATABASE_URL": args.peer_db,
    }


def setup_peer(args) -> dict:
    ensure_database(args.peer_db)
    out = subprocess.run(
        [
            str(args.peer_python),
            str(ROOT / "bench" / "peer_side.py"),
            "setup",
            *("--leads", str(args.leads), "--share", str(args.leads // 10)),
        ],
        cwd=args.peer,
        env=peer_env(args),
        capture_output=True,
        text=True,
        check=False,
    )
    for line in out.stderr.splitlines():
        if line.startswith("peer:"):
            print(f"  {line}")
    if out.returncode != 0 or not out.stdout.strip():
        sys.exit(f"the peer's setup failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def setup_ours(args) -> dict:
    import argparse as _argparse

    url = os.environ["DATABASE_URL"]
    ensure_database(url)
    django_setup()
    migrate_and_collect()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    world = make_world()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM leads_lead")
        have = cur.fetchone()[0]
    if have != args.leads:
        print(f"  ours: seeding {args.leads:,} leads (the table held {have:,})")
        clear_leads(world)
        seed = _argparse.Namespace(open_share=0.10, seed=0.42)
        grow_leads(world, pools(), 1, args.leads + 1, seed, timezone.now())
        vacuum_analyze()
    print(table_summary(world))
    client = logged_in(world["bench_user"])
    name = settings.SESSION_COOKIE_NAME
    return {"cookie": f"{name}={client.cookies[name].value}", "user": world["bench_user"]}


class Gunicorn:
    def __init__(self, label: str, cmd: list[str], cwd: Path, env: dict):
        self.label, self.port = label, free_port()
        self.log = Path(tempfile.mkstemp(prefix=f"peer-bench-{label}-", suffix=".log")[1])
        cmd = [*cmd, "--bind", f"127.0.0.1:{self.port}", "--error-logfile", str(self.log)]
        with self.log.open("ab") as output:
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, start_new_session=True, stdout=output, stderr=output
            )

    def wait(self, path: str, cookie: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"{self.label}: gunicorn exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if request(self.port, "GET", path, cookie)[0] == 200:
                    return
            time.sleep(0.3)
        sys.exit(f"{self.label}: gunicorn not ready:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: master + workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.unlink(missing_ok=True)


def request(port: int, method: str, path: str, cookie: str, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, headers={"Cookie": cookie, **(headers or {})})
        response = conn.getresponse()
        body = response.read()
        return response.status, response.getheader("Location", ""), body, response
    finally:
        conn.close()


# ------------------------------------------------------------------------------ the targets


class Target:
    def __init__(self, name: str, label: str, port: int, method: str, path: str, cookie: str):
        self.name, self.label, self.port = name, label, port
        self.method, self.path, self.cookie = method, path, cookie
        self.headers: dict = {}
        self.times: dict[int, list[float]] = {}

    def once(self) -> float:
        t0 = time.perf_counter()
        status, location, body, _ = request(
            self.port, self.method, self.path, self.cookie, self.headers
        )
        elapsed = (time.perf_counter() - t0) * 1000
        self.check(status, location, body)
        return elapsed

    def check(self, status: int, location: str, body: bytes) -> None:
        if status != 200:
            raise RuntimeError(f"{self.label}: {status} {location}")


class PeerList(Target):
    def check(self, status: int, location: str, body: bytes) -> None:
        super().check(status, location, body)
        rows = body.count(b'name="_selected_action"')
        if rows != 100:
            raise RuntimeError(f"{self.label}: {rows} rows, not 100")


class OurQueue(Target):
    def check(self, status: int, location: str, body: bytes) -> None:
        super().check(status, location, body)
        if body.count(b'class="lead-row') != 50:
            raise RuntimeError(f"{self.label}: not 50 rows")


class TakeNext(Target):
    def check(self, status: int, location: str, body: bytes) -> None:
        # untimed: the clock stopped before check()
        release_claim(claimed_lead_id(status, location))


def run_block(target: Target, clients: int, per_client: int) -> None:
    errors: list[BaseException] = []

    def client() -> None:
        from django.db import connection

        try:
            for _ in range(per_client):
                target.times.setdefault(clients, []).append(target.once())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def measure(targets: list[Target], clients: int, args) -> tuple[float, float]:
    """args.requests per target, in blocks of `block` requests per client, interleaved."""
    per_block = args.block * clients
    blocks = max(1, args.requests // per_block)
    load_before = os.getloadavg()[0]
    for b in range(blocks):
        order = targets[b % len(targets) :] + targets[: b % len(targets)]
        for target in order:
            run_block(target, clients, args.block)
    return load_before, os.getloadavg()[0]


def main() -> None:
    args = parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL (ours), e.g. postgres://postgres@127.0.0.1:5432/crm_bench")
    started = time.perf_counter()
    print(f"peer: {args.peer} ({git_head(args.peer)}), Python {args.peer_python}")
    peer = setup_peer(args)
    print(
        f"  peer: {peer['leads']:,} leads, {peer['user']} owns {peer['owned']:,}; "
        f"Django {peer['django']}; lead list {peer['url']}"
    )
    ours = setup_ours(args)
    import django
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    print(
        f"ours: Django {django.get_version()}; PostgreSQL {pg}; {os.cpu_count()} CPUs; "
        f"gunicorn {args.workers} sync workers each; measured as {ours['user'].username}"
    )

    our_env = {**os.environ, "DEBUG": "false", "LOG_LEVEL": "WARNING"}
    our_env.setdefault("SECRET_KEY", "bench-only-not-secret")
    our_env["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"
    servers = [
        Gunicorn(
            "ours",
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "crm.wsgi:application",
                *("--config", str(ROOT / "gunicorn.conf.py"), "--workers", str(args.workers)),
                *("--no-control-socket", "--log-level", "warning", "--access-logfile", "/dev/null"),
            ],
            ROOT,
            our_env,
        ),
        Gunicorn(
            "peer",
            [
                str(args.peer_python.parent / "gunicorn"),
                "webcrm.wsgi:application",
                *("--workers", str(args.workers), "--log-level", "warning"),
            ],
            args.peer,
            peer_env(args),
        ),
    ]
    new_leads = queue_snapshot()  # put back at the end: the runs claim and release leads
    try:
        ours_srv, peer_srv = servers
        ours_srv.wait("/leads/", ours["cookie"])
        peer_srv.wait(peer["url"], peer["cookie"])
        # Take next's POST carries the CSRF cookie and header, as the page's form does.
        _s, _l, _b, response = request(ours_srv.port, "GET", "/leads/", ours["cookie"])
        csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie", "") or "")
        if not csrf:
            sys.exit("ours: no CSRF cookie on the queue page")
        take = TakeNext(
            "take_next",
            "ours POST /leads/take-next/",
            ours_srv.port,
            "POST",
            "/leads/take-next/",
            f"{ours['cookie']}; csrftoken={csrf.group(1)}",
        )
        take.headers = {"X-CSRFToken": csrf.group(1), "Content-Length": "0"}
        targets = [
            OurQueue(
                "queue",
                "ours GET /leads/ (50 rows)",
                ours_srv.port,
                "GET",
                "/leads/",
                ours["cookie"],
            ),
            take,
            PeerList(
                "peer",
                f"peer GET {peer['url']} (100 rows)",
                peer_srv.port,
                "GET",
                peer["url"],
                peer["cookie"],
            ),
        ]
        for target in targets:
            for _ in range(args.warmup):
                target.once()
        loads = {}
        for clients in args.clients:
            loads[clients] = measure(targets, clients, args)
            for target in targets:  # as soon as it is known: a long run may be cut short
                t = target.times[clients]
                print(f"  {target.label:<44} p50 {pct(t, 0.5):8.1f} ms  p95 {pct(t, 0.95):8.1f} ms")
            print(
                f"  {clients} client(s) done, load average {loads[clients][0]:.1f} -> "
                f"{loads[clients][1]:.1f}",
                flush=True,
            )
        report(targets, args, loads)
    finally:
        for server in servers:
            server.stop()
        restore_queue(new_leads)
    print(f"total run time {time.perf_counter() - started:.0f} s")


def git_head(path: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(path), "log", "-1", "--format=%h %ad", "--date=short"],
        capture_output=True,
        text=True,
        check=False,
    )
    branch = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--abbrev-ref", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return f"{branch.stdout.strip()} {out.stdout.strip()}"


def report(targets: list[Target], args, loads: dict) -> None:
    queue, take, peer = targets
    print(
        f"\nResponse time seen by the client (HTTP over loopback, gunicorn {args.workers} "
        f"workers each), {args.requests} requests per target and client count, interleaved"
    )
    head = f"{'clients':>7}  {'target':<44} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    print(head)
    print("-" * len(head))
    for clients in args.clients:
        for target in targets:
            t = target.times[clients]
            print(
                f"{clients:>7}  {target.label:<44} {len(t):>4} {pct(t, 0.5):>8.1f} "
                f"{pct(t, 0.95):>8.1f} {max(t):>8.1f}"
            )
    print("\nRatios (peer's lead list time / ours):")
    for clients in args.clients:
        p = peer.times[clients]
        for target in (queue, take):
            t = target.times[clients]
            print(
                f"  {clients} client(s), {target.label:<30} p50 {pct(p, 0.5) / pct(t, 0.5):5.1f}x"
                f"   p95 {pct(p, 0.95) / pct(t, 0.95):5.1f}x   (load average "
                f"{loads[clients][0]:.1f} -> {loads[clients][1]:.1f})"
            )


if __name__ == "__main__":
    main()
