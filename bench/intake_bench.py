#!/usr/bin/env python
"""Intake throughput through gunicorn on PostgreSQL, against a raw psycopg2 INSERT of the same
rows (the issue: at least 500 leads/s with p99 under 100 ms, 10,000 posts, 16 clients).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_intake \
    REDIS_URL=redis://127.0.0.1:6379/1 \
        .venv/bin/python bench/intake_bench.py [--posts 10000] [--clients 16] [--workers N]
            [--worker-class sync,gthread] [--threads T] [--gen-procs P] [--no-lean] [--no-raw]
            [--profile N] [--app MODULE:APP] [--settings MODULE] [--pgoptions "-c ..."]
            [--quiet-wait S] [--busy-retries R] [--keep] [--drop]

What it does:
1. Creates the database if it is missing, runs the migrations (DEBUG forced off, a dummy
   SECRET_KEY unless one is set), makes a qualification team and three lead sources
   (bench-intake for the app, bench-intake-lean and bench-intake-raw for the references) with
   rate_limit_per_minute = 10**9, and removes the rows earlier runs of this bench left. A
   PostgreSQL advisory lock keeps two runs off one database.
2. Builds --posts distinct realistic leads (Faker ru_RU names, Russian phones in a dozen
   formats, ~40% with an e-mail, ~5% e-mail only, ~3% repeating an earlier phone so dedup
   links them, a unique external_id, UTM tags) as ready-to-send HTTP/1.1 requests.
3. Prints the SQL of one post (in process, through the full WSGI stack) and the in-process
   single-client time per post (wall, SQL, CPU); with --profile N, cProfiles N posts in
   process and prints the time per stage of the request and the top functions.
4. For each --worker-class (default: sync and gthread, each reported): starts gunicorn
   (--app, default crm.wsgi:application; --config the project's gunicorn.conf.py, the
   production shape, unless --gunicorn-config none; --no-control-socket, a free port,
   --workers, default cores + 1 as in production; --threads for gthread), warms it up (the
   warm-up's leads stay as the team's open backlog under a source of their own, and the lead
   tables are analysed, as autovacuum would in production; it is off on this server), then
   the load generator -- in --gen-procs separate processes (default 2), --clients threads in total,
   each a raw-socket HTTP/1.1 client (keep-alive when the server keeps the connection, a new
   connection per post when it closes it, as the sync worker does; the connect time is in
   the latency) -- posts every lead once. Prints leads/s, p50/p95/p99/max, errors, and the
   CPU used by gunicorn, PostgreSQL, Redis, the generator and everything else (from /proc)
   during the run; checks in the database that exactly --posts leads and 'created'
   LeadEvents were stored. Before each timed run it waits (--quiet-wait) for the machine to
   be idle, and repeats the run (--busy-retries) when other processes took over a quarter
   of a core during it: on 2 cores another job's tests halve the figures.
5. Unless --no-lean: the lean-Django reference (bench/intake_lean.py: no middleware, one
   Lead.objects.create per post) under the best configuration, same generator.
6. Unless --no-raw, the raw psycopg2 reference: the same rows, the columns the app's INSERT
   writes (with the same E.164 phones), one INSERT ... RETURNING id + COMMIT per lead,
   --clients threads; then with the LeadEvent INSERT in the same transaction, then with the
   Deadline rows too (all the app writes per lead). Prints leads/s and the ratio app/raw.
Gunicorn is stopped at the end, on errors, on Ctrl-C and on SIGTERM. Bench rows are removed
at the end unless --keep; --drop drops the database if this run created it.

Proposals can be measured with the same harness, e.g. --settings MODULE (settings of your own
that import crm.settings and change one thing) or --pgoptions "-c synchronous_commit=off".
"""

import argparse
import contextlib
import cProfile
import io
import json
import multiprocessing as mp
import os
import pstats
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402 - after the path is set
    django_setup,
    drop_database,
    ensure_database,
    free_port,
    pct,
    run_lock,
    server_params,
)

VENV_BIN = Path(sys.executable).parent

TEAM_NAME = "Bench intake qualification"
SOURCE_SLUG = "bench-intake"
LEAN_SLUG = "bench-intake-lean"
RAW_SLUG = "bench-intake-raw"
BACKLOG_SLUG = "bench-intake-backlog"  # the warm-up's leads, left as the team's open backlog
BENCH_SLUGS = (SOURCE_SLUG, LEAN_SLUG, RAW_SLUG, BACKLOG_SLUG)
PATH = "/api/v1/intake/"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
BENCH_DB = ""  # set in main(): PostgreSQL backends of other databases count as "other"


# ---------------------------------------------------------------- database and Django setup


def make_fixtures() -> dict:
    from crm.teams.models import Team
    from leads.models import LeadSource

    team, _ = Team.objects.get_or_create(name=TEAM_NAME, defaults={"kind": Team.Kind.QUALIFICATION})
    team.kind = Team.Kind.QUALIFICATION
    team.save()
    sources = {}
    for slug in BENCH_SLUGS:
        source, _ = LeadSource.objects.get_or_create(
            slug=slug,
            defaults={"name": slug, "channel": LeadSource.Channel.API, "team": team},
        )
        source.team, source.active = team, True
        source.preset, source.field_map = LeadSource.Preset.GENERIC, {}
        source.rate_limit_per_minute = 10**9
        source.save()
        sources[slug] = source
    return {"team": team, "sources": sources}


def keep_as_backlog(source, backlog) -> None:
    """Leave the warm-up's leads in the team as its open backlog (under another source, so the
    measured run is counted alone), and ANALYZE the lead tables as autovacuum would on a
    production server. This server runs with autovacuum off: without this the planner would
    take the just-emptied table's statistics (0 rows) for the whole run, and look for a
    duplicate by walking the team's open leads instead of the phone index."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            # each configuration's warm-up posts the same external ids: keep them apart
            "UPDATE leads_lead SET source_id = %s, external_id = external_id || '-' || id"
            " WHERE source_id = %s",
            [backlog.pk, source.pk],
        )
    vacuum_lead_tables()


def delete_bench_leads(slugs=BENCH_SLUGS) -> None:
    """Remove the leads of the bench sources with everything that hangs off them (the ORM's
    collector follows whatever related tables the app has grown)."""
    from django.db import connections

    from leads.models import Lead

    connections.close_all()  # a fresh connection: the last one may have idled through a run
    Lead.objects.filter(source__slug__in=slugs).delete()
    vacuum_lead_tables()


def vacuum_lead_tables() -> None:
    """VACUUM ANALYZE the lead tables after a delete, so each run starts on tables without
    the previous run's dead rows (with autovacuum off, as on this server, they pile up:
    hundreds of thousands of dead index entries slowed the dedup SELECT and the INSERTs)."""
    from django.db import connection

    from leads.models import Lead

    tables = {Lead._meta.db_table} | {
        rel.related_model._meta.db_table for rel in Lead._meta.related_objects
    }
    with connection.cursor() as cur:
        for table in sorted(tables):
            cur.execute(f'VACUUM (ANALYZE) "{table}"')


# ---------------------------------------------------------------- the leads


MOBILE_CODES = [
    900,
    901,
    902,
    903,
    904,
    905,
    906,
    908,
    909,
    910,
    911,
    912,
    913,
    914,
    915,
    916,
    917,
    918,
    919,
    920,
    921,
    922,
    925,
    926,
    927,
    928,
    929,
    930,
    931,
    936,
    937,
    950,
    951,
    952,
    953,
    958,
    960,
    961,
    962,
    963,
    964,
    965,
    966,
    967,
    968,
    977,
    978,
    980,
    981,
    982,
    983,
    984,
    985,
    987,
    988,
    989,
    991,
    992,
    993,
    995,
    996,
    997,
    999,
]
LANDLINE_CODES = [495, 499, 812, 343, 383, 843, 846, 861, 863]
PHONE_FORMATS = [
    lambda c, n: f"+7 ({c}) {n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"8 ({c}) {n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"8{c}{n}",
    lambda c, n: f"+7{c}{n}",
    lambda c, n: f"7{c}{n}",
    lambda c, n: f"+7 {c} {n[:3]} {n[3:5]} {n[5:]}",
    lambda c, n: f"8-{c}-{n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"{c} {n[:3]}-{n[3:5]}-{n[5:]}",
    lambda c, n: f"({c}) {n}",
    lambda c, n: f"+7-{c}-{n}",
    lambda c, n: f"8 {c} {n}",
    lambda c, n: f" +7 {c}{n} ",
]
MESSAGES = [
    "Перезвоните, пожалуйста, интересует {thing}",
    "Хочу узнать цену на {thing}",
    "Нужна консультация: {thing}, доставка в {city}",
    "Сколько стоит {thing}? Звонить после 18:00",
    "Интересует {thing}, есть ли рассрочка?",
    "",
]
THINGS = [
    "кухня на заказ",
    "шкаф-купе",
    "монтаж окон",
    "ремонт квартиры",
    "тур в Сочи",
    "автомобиль в кредит",
    "натяжные потолки",
    "курсы английского",
    "дом из бруса",
]
UTM = [
    ("yandex", "cpc", "kitchens_spring"),
    ("google", "cpc", "brand"),
    ("vk", "social", "retarget"),
    ("telegram", "post", "channel"),
    ("", "", ""),
    ("avito", "referral", ""),
]


def make_leads(count: int, run_tag: str, seed: int = 2026) -> list[dict]:
    """Distinct leads as the form would post them; phones validated with the app's own
    normaliser so every post is a 201."""
    from faker import Faker

    from crm.lib.phones import normalise_phone

    fake = Faker("ru_RU")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    leads, phones = [], []
    for i in range(count):
        lead = {"name": fake.name(), "external_id": f"{run_tag}-{i:06d}"}
        kind = rng.random()
        if kind < 0.03 and phones:  # a repeat of an earlier phone, typed another way
            code, number = rng.choice(phones)
            lead["phone"] = rng.choice(PHONE_FORMATS)(code, number)
        elif kind < 0.08:  # e-mail only
            pass
        else:
            while True:
                code = rng.choice(MOBILE_CODES if rng.random() < 0.85 else LANDLINE_CODES)
                number = f"{rng.randrange(2000000, 9999999)}"
                raw = rng.choice(PHONE_FORMATS)(code, number)
                try:
                    normalise_phone(raw)
                    break
                except ValueError:
                    continue
            phones.append((code, number))
            lead["phone"] = raw
        if "phone" not in lead or rng.random() < 0.4:
            user = fake.user_name()
            domain = rng.choice(["mail.ru", "yandex.ru", "gmail.com", "bk.ru"])
            lead["email"] = f"{user}{i}@{domain}"
            if rng.random() < 0.2:
                lead["email"] = lead["email"].capitalize()
        message = rng.choice(MESSAGES)
        if message:
            lead["message"] = message.format(thing=rng.choice(THINGS), city=fake.city_name())
        source, medium, campaign = rng.choice(UTM)
        utm = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
        lead.update({key: value for key, value in utm.items() if value})
        leads.append(lead)
    return leads


def http_request(host: str, port: int, key: str, lead: dict) -> bytes:
    body = json.dumps(lead, ensure_ascii=False).encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: intake-bench\r\n"
        f"X-Intake-Key: {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nAccept: application/json\r\n\r\n"
    )
    return head.encode() + body


# ---------------------------------------------------------------- the load generator


class Closed(Exception):
    pass


def read_response(sock: socket.socket, buf: bytearray) -> tuple[int, bytes, bool]:
    """(status, body, server closes). Minimal HTTP/1.1 reader: Content-Length or chunked."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise Closed("connection closed before the response head")
        buf += chunk
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[: end + 4]
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _sep, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    closes = headers.get("connection", "").lower() == "close" or head[0].startswith("HTTP/1.0")
    if "content-length" in headers:
        length = int(headers["content-length"])
        while len(buf) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise Closed("connection closed in the body")
            buf += chunk
        body = bytes(buf[:length])
        del buf[:length]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            while b"\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    raise Closed("connection closed in a chunk")
                buf += chunk
            line_end = buf.find(b"\r\n")
            size = int(bytes(buf[:line_end]).split(b";")[0], 16)
            while len(buf) < line_end + 2 + size + 2:
                chunk = sock.recv(65536)
                if not chunk:
                    raise Closed("connection closed in a chunk")
                buf += chunk
            parts.append(bytes(buf[line_end + 2 : line_end + 2 + size]))
            del buf[: line_end + 2 + size + 2]
            if size == 0:
                break
        body = b"".join(parts)
    else:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        body, closes = bytes(buf), True
        buf.clear()
    return status, body, closes


def client_thread(host, port, requests, indices, lock, out):
    """One client: posts requests[i] for i taken from the shared iterator, one at a time."""
    latencies, statuses, ids, errors, reconnects = [], {}, [], [], 0
    sock, buf = None, bytearray()
    perf = time.perf_counter
    while True:
        with lock:
            i = next(indices, None)
        if i is None:
            break
        request = requests[i]
        t0 = perf()
        for attempt in (1, 2):
            reused = sock is not None
            try:
                if sock is None:
                    sock = socket.create_connection((host, port))
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    buf.clear()
                    reconnects += 1
                sock.sendall(request)
                status, body, closes = read_response(sock, buf)
                break
            except (OSError, Closed) as exc:
                if sock is not None:
                    sock.close()
                sock = None
                # A kept-alive connection the server had already closed: retry once, fresh.
                if reused and attempt == 1:
                    continue
                status, body, closes = 0, repr(exc).encode(), True
                break
        latencies.append(perf() - t0)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 201:
            try:
                ids.append(json.loads(body)["id"])
            except (ValueError, KeyError):
                errors.append(f"201 without an id: {body[:200]!r}")
        elif len(errors) < 5:
            errors.append(f"{status}: {body[:300]!r}")
        if closes and sock is not None:
            sock.close()
            sock = None
    if sock is not None:
        sock.close()
    out.append(
        {
            "latencies": latencies,
            "statuses": statuses,
            "ids": ids,
            "errors": errors,
            "connections": reconnects,
        }
    )


def generator_process(host, port, requests, threads, ready, go, results):
    """A load-generator process: `threads` clients over this process's share of the posts."""
    lock = threading.Lock()
    indices = iter(range(len(requests)))
    out: list[dict] = []
    workers = [
        threading.Thread(target=client_thread, args=(host, port, requests, indices, lock, out))
        for _ in range(threads)
    ]
    ready.put(os.getpid())
    go.wait()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    end = time.perf_counter()
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    merged = {"latencies": [], "statuses": {}, "ids": [], "errors": [], "connections": 0}
    for part in out:
        merged["latencies"] += part["latencies"]
        merged["ids"] += part["ids"]
        merged["errors"] += part["errors"]
        merged["connections"] += part["connections"]
        for status, n in part["statuses"].items():
            merged["statuses"][status] = merged["statuses"].get(status, 0) + n
    merged.update(start=start, end=end, cpu=cpu, pid=os.getpid())
    results.put(merged)


def run_load(host, port, requests, clients, procs, watch_pids=None) -> dict:
    """Posts every request once with `clients` concurrent clients spread over `procs`
    processes. Returns the merged results, wall time and the CPU accounting."""
    ctx = mp.get_context("spawn")
    procs = max(1, min(procs, clients))
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    children = []
    for p in range(procs):
        threads = clients // procs + (1 if p < clients % procs else 0)
        share = requests[p::procs]
        child = ctx.Process(
            target=generator_process,
            args=(host, port, share, threads, ready, go, results),
            daemon=True,
        )
        child.start()
        children.append(child)
    try:
        gen_pids = [ready.get(timeout=60) for _ in children]
        cpu0 = cpu_snapshot(watch_pids, gen_pids)
        go.set()
        parts = [results.get(timeout=3600) for _ in children]
        cpu1 = cpu_snapshot(watch_pids, gen_pids)
    finally:
        for child in children:
            child.join(timeout=10)
            if child.is_alive():
                child.kill()
    merged = {"latencies": [], "statuses": {}, "ids": [], "errors": [], "connections": 0}
    for part in parts:
        for key in ("latencies", "ids", "errors"):
            merged[key] += part[key]
        merged["connections"] += part["connections"]
        for status, n in part["statuses"].items():
            merged["statuses"][status] = merged["statuses"].get(status, 0) + n
    merged["wall"] = max(p["end"] for p in parts) - min(p["start"] for p in parts)
    merged["gen_cpu"] = sum(p["cpu"] for p in parts)
    merged["cpu"] = cpu_delta(cpu0, cpu1)
    merged["procs"], merged["clients"] = procs, clients
    return merged


# ---------------------------------------------------------------- CPU accounting from /proc


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    comm = data[data.index("(") + 1 : data.rindex(")")]
    fields = data[data.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return comm, ppid, cpu


_BACKEND = re.compile(r"^postgres: \S+: \S+ (\S+) (?:\S+\(\d+\)|\[local\])")
_AUTOVACUUM = re.compile(r"autovacuum worker (\S+)")


def _pg_serves_us(pid: int) -> bool:
    """A PostgreSQL process counts for the bench unless it is a backend (or an autovacuum
    worker) of another database: another job's tests must not land in our figures."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return False
    match = _BACKEND.match(title) or _AUTOVACUUM.search(title)
    return match is None or not BENCH_DB or match.group(1) == BENCH_DB


def cpu_snapshot(gunicorn_pid: int | None, gen_pids: list[int]) -> dict:
    with open("/proc/stat") as f:
        total = [int(x) for x in f.readline().split()[1:]]
    idle = (total[3] + total[4]) / CLK_TCK
    busy = (sum(total[:8]) - total[3] - total[4]) / CLK_TCK
    groups: dict[str, dict[int, float]] = {
        "gunicorn": {},
        "postgres": {},
        "redis": {},
        "generator": {},
        "bench": {},
    }
    gen = set(gen_pids)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        stat = _proc_stat(pid)
        if stat is None:
            continue
        comm, ppid, cpu = stat
        if gunicorn_pid and (pid == gunicorn_pid or ppid == gunicorn_pid):
            groups["gunicorn"][pid] = cpu
        elif comm == "postgres" and _pg_serves_us(pid):
            groups["postgres"][pid] = cpu
        elif comm.startswith("redis-server"):
            groups["redis"][pid] = cpu
        elif pid in gen:
            groups["generator"][pid] = cpu
        elif pid == os.getpid():
            groups["bench"][pid] = cpu
    return {"busy": busy, "idle": idle, "groups": groups}


def cpu_delta(a: dict, b: dict) -> dict:
    out = {"busy": b["busy"] - a["busy"], "idle": b["idle"] - a["idle"]}
    for name, pids in b["groups"].items():
        out[name] = sum(cpu - a["groups"][name].get(pid, 0.0) for pid, cpu in pids.items())
    out["other"] = out["busy"] - sum(out[n] for n in b["groups"])
    return out


# ---------------------------------------------------------------- gunicorn


class Gunicorn:
    def __init__(
        self, app: str, worker_class: str, workers: int, threads: int, env: dict, config: str
    ):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below; its path is kept
            prefix="intake-bench-gunicorn-", suffix=".log", delete=False
        )
        self.log.close()
        self.empty_config = None
        if not config:  # gunicorn's defaults: an empty file, or it reads ./gunicorn.conf.py
            self.empty_config = tempfile.NamedTemporaryFile(  # noqa: SIM115
                prefix="intake-bench-", suffix=".conf.py", delete=False
            )
            self.empty_config.close()
            config = self.empty_config.name
        cmd = [
            str(VENV_BIN / "gunicorn"),
            app,
            "--config",
            config,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--no-control-socket",
            "--chdir",
            str(ROOT),
            "--timeout",
            "120",
            "--log-level",
            "warning",
            "--error-logfile",
            self.log.name,
        ]
        if worker_class == "gthread":
            cmd += ["--threads", str(threads)]
        self.cmd = cmd
        # The workers' own output (Django's error log) goes to the same file.
        with open(self.log.name, "ab") as output:
            self.proc = subprocess.Popen(
                cmd, env=env, start_new_session=True, stdout=output, stderr=output
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, request: bytes, ready_status: int, timeout: float = 60) -> None:
        """Until a worker answers `request` with `ready_status` (Django loaded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    sock.sendall(request)
                    status, _body, _closes = read_response(sock, bytearray())
                    if status == ready_status:
                        return
            except (OSError, Closed):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(Path(self.log.name).read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own session: master + workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        Path(self.log.name).unlink(missing_ok=True)
        if self.empty_config is not None:
            Path(self.empty_config.name).unlink(missing_ok=True)


RUNNING: list[Gunicorn] = []


def stop_all() -> None:
    while RUNNING:
        RUNNING.pop().stop()


# ---------------------------------------------------------------- figures


def latency_line(latencies: list[float]) -> str:
    lat = sorted(latencies)
    if not lat:
        return "no requests"
    ms = [x * 1000 for x in lat]
    mean = sum(ms) / len(ms)
    return (
        f"p50 {pct(ms, 0.50):.1f} ms, p95 {pct(ms, 0.95):.1f} ms, p99 {pct(ms, 0.99):.1f} ms, "
        f"max {ms[-1]:.1f} ms, mean {mean:.1f} ms"
    )


def print_cpu(cpu: dict, wall: float, posts: int) -> None:
    def share(x):
        return f"{100 * x / wall:.0f}%"

    idle = max(0.0, cpu["idle"])
    print(
        f"  CPU during the run ({CORES} cores = {CORES * 100}%, % of one core): "
        f"gunicorn {share(cpu['gunicorn'])}, postgres {share(cpu['postgres'])}, "
        f"redis {share(cpu['redis'])}, load generator {share(cpu['generator'])}, "
        f"other processes {share(max(0.0, cpu['other'] + cpu['bench']))}, idle {share(idle)}"
    )
    if posts:
        print(
            f"  CPU per post: gunicorn {1000 * cpu['gunicorn'] / posts:.2f} ms, "
            f"postgres {1000 * cpu['postgres'] / posts:.2f} ms, "
            f"redis {1000 * cpu['redis'] / posts:.2f} ms, "
            f"generator {1000 * cpu['generator'] / posts:.2f} ms"
        )


def report_load(title: str, result: dict, posts: int) -> dict:
    ok = result["statuses"].get(201, 0)
    errors = sum(n for status, n in result["statuses"].items() if status != 201)
    rate = ok / result["wall"] if result["wall"] else 0.0
    lat = sorted(result["latencies"])
    print(f"\n== {title} ==")
    print(
        f"  {posts} posts, {result['clients']} clients in {result['procs']} generator "
        f"processes, {result['connections']} TCP connections opened"
    )
    print(f"  wall {result['wall']:.2f} s -> {rate:.0f} leads/s (201s per second)")
    print(f"  latency: {latency_line(result['latencies'])}")
    print(f"  statuses: {dict(sorted(result['statuses'].items()))}; errors (non-201): {errors}")
    for line in result["errors"][:5]:
        print(f"    {line}")
    print_cpu(result["cpu"], result["wall"], posts)
    return {
        "rate": rate,
        "p99": pct([x * 1000 for x in lat], 0.99),
        "errors": errors,
        "p50": pct([x * 1000 for x in lat], 0.50),
        "others": result.get("others", 0.0),
        "cpu_per_post": 1000 * result["cpu"]["gunicorn"] / max(1, ok),
    }


def verify_stored(source, posts: int, run_tag: str, ids: list[int]) -> bool:
    from django.db import connection, connections

    connections.close_all()

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(DISTINCT external_id), count(duplicate_of_id),"
            " count(*) FILTER (WHERE external_id LIKE %s)"
            " FROM leads_lead WHERE source_id = %s",
            [f"{run_tag}-%", source.pk],
        )
        total, distinct, dups, tagged = cur.fetchone()
        cur.execute(
            "SELECT count(*) FROM leads_leadevent e JOIN leads_lead l ON l.id = e.lead_id"
            " WHERE l.source_id = %s AND e.kind = 'created'",
            [source.pk],
        )
        (events,) = cur.fetchone()
    good = total == posts == distinct == tagged == events == len(set(ids))
    print(
        f"  stored: {total} leads ({distinct} distinct external_id, {tagged} of this run), "
        f"{events} 'created' LeadEvents, {dups} linked as duplicates; "
        f"{len(set(ids))} distinct ids answered -> {'OK' if good else 'MISMATCH'}"
    )
    return good


# ---------------------------------------------------------------- in process: SQL and profile


def wsgi_environ(body: bytes, key: str) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATH,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1",
        "HTTP_X_INTAKE_KEY": key,
        "HTTP_ACCEPT": "application/json",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def wsgi_post(app, body: bytes, key: str) -> str:
    status = []
    response = app(wsgi_environ(body, key), lambda s, h, exc=None: status.append(s))
    b"".join(response)
    response.close()
    return status[0]


def in_process(source, leads: list[dict], profile: int, run_tag: str) -> None:
    """The SQL of one post, the single-client in-process time, and optionally a cProfile."""
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    app = get_wsgi_application()
    key = source.intake_key
    bodies = [
        json.dumps(
            {**lead, "external_id": f"inproc-{run_tag}-{i:06d}"}, ensure_ascii=False
        ).encode()
        for i, lead in enumerate(leads)
    ]
    for body in bodies[:20]:  # warm: imports, connection, caches
        wsgi_post(app, body, key)
    with CaptureQueriesContext(connection) as captured:
        status = wsgi_post(app, bodies[20], key)
    print(
        f"\n== one post in process (full WSGI stack, {os.environ['DJANGO_SETTINGS_MODULE']}): "
        f"{status}, "
        f"{len(captured.captured_queries)} SQL statements =="
    )
    print(
        f"  middleware: {len(settings.MIDDLEWARE)} "
        f"({', '.join(m.rsplit('.', 1)[-1] for m in settings.MIDDLEWARE)})"
    )
    if not status.startswith("201"):
        raise SystemExit(f"the intake post answered {status}, not 201: fix that first")
    for query in captured.captured_queries:
        sql = query["sql"]
        cut = "..." if len(sql) > 150 else ""
        print(f"  {float(query['time']) * 1000:6.2f} ms  {sql[:150]}{cut}")

    sql_time = [0.0]

    def timed(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_time[0] += time.perf_counter() - t0

    n = min(300, len(bodies) - 21)
    t0, c0 = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(timed):
        for body in bodies[21 : 21 + n]:
            wsgi_post(app, body, key)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"  single client in process, {n} posts: {1000 * elapsed / n:.2f} ms per post, of which "
        f"{1000 * sql_time[0] / n:.2f} ms in SQL calls (round trips + commit wait); "
        f"{1000 * cpu / n:.2f} ms CPU of this process per post"
        f" -> at most {n / elapsed:.0f} posts/s per process"
    )
    if profile:
        chunk = bodies[21 + n : 21 + n + profile]
        # Wall-time profile of one client: waiting for PostgreSQL and Redis shows in
        # psycopg2 execute/commit and the socket reads, everything else is CPU.
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        for body in chunk:
            wsgi_post(app, body, key)
        profiler.disable()
        profiled = time.perf_counter() - t0
        stats = pstats.Stats(profiler, stream=io.StringIO())
        print(
            f"\n== cProfile of {len(chunk)} posts in process, one client: "
            f"{1000 * profiled / len(chunk):.2f} ms per post under the profiler "
            f"({1000 * elapsed / n:.2f} ms without it) =="
        )
        print_breakdown(stats, len(chunk), profiled)
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    delete_bench_leads((SOURCE_SLUG,))


BREAKDOWN = [
    # (label, file suffix, function name): inclusive CPU per post of each
    ("whole request (Django WSGIHandler)", "django/core/handlers/wsgi.py", "__call__"),
    ("  intake_post (the view)", "leads/intake_view.py", "intake_post"),
    ("    intake_source (cached key -> LeadSource)", "leads/selectors.py", "intake_source"),
    ("    rate_limited (Redis)", "crm/lib/ratelimit.py", "rate_limited"),
    ("    _body (JSON or form parse)", "leads/intake_view.py", "_body"),
    ("    intake.clean_fields (validate, normalise)", "leads/intake.py", "clean_fields"),
    ("    services.lead_receive", "leads/services.py", "lead_receive"),
    ("      sla.deadlines (working time)", "leads/sla.py", "deadlines"),
    ("      services._insert_once (the one statement)", "leads/services.py", "_insert_once"),
    ("      services.lead_create (ORM path, SQLite)", "leads/services.py", "lead_create"),
    ("    JsonResponse", "django/http/response.py", "__init__"),
    ("across: crm.lib.phones.normalise_phone", "crm/lib/phones.py", "normalise_phone"),
    ("across: QuerySet.first (ORM SELECTs)", "django/db/models/query.py", "first"),
    ("across: Model.save (ORM INSERTs)", "django/db/models/base.py", "save"),
    ("across: SQL compilation (compiler as_sql)", "django/db/models/sql/compiler.py", "as_sql"),
    (
        "across: psycopg2 cursor.execute",
        "~",
        "<method 'execute' of 'psycopg2.extensions.cursor' objects>",
    ),
    (
        "across: psycopg2 commit",
        "~",
        "<method 'commit' of 'psycopg2.extensions.connection' objects>",
    ),
    ("across: redis-py execute_command", "redis/client.py", "execute_command"),
    ("across: redis-py Redis.__init__ (a client per call)", "redis/client.py", "__init__"),
    (
        "across: DB connection health check",
        "django/db/backends/base/base.py",
        "close_if_health_check_failed",
    ),
]


def print_breakdown(stats: pstats.Stats, posts: int, total: float) -> None:
    """Inclusive ms per post (and share of the request) for the stages of an intake post (a
    function that recurses or has several definitions of one name in a file is summed).
    Wall time of a single client: waits for PostgreSQL are inside psycopg2 execute/commit,
    waits for Redis inside redis-py execute_command; the rest is CPU."""
    totals: dict[tuple[str, str], list[float]] = {}
    for (filename, _line, name), (_cc, ncalls, _tt, cumtime, _callers) in stats.stats.items():
        for _label, suffix, fname in BREAKDOWN:
            if name == fname and filename.endswith(suffix):
                entry = totals.setdefault((suffix, fname), [0.0, 0])
                entry[0] += cumtime
                entry[1] += ncalls
    print(f"  {'stage':<62} {'ms/post':>8} {'share':>6} {'calls/post':>10}")
    for label, suffix, fname in BREAKDOWN:
        cum, calls = totals.get((suffix, fname), [0.0, 0])
        print(
            f"  {label:<62} {1000 * cum / posts:>8.2f} {100 * cum / total:>5.0f}% "
            f"{calls / posts:>10.1f}"
        )


# ---------------------------------------------------------------- raw psycopg2 reference


def raw_rows(leads: list[dict]) -> list[dict]:
    """The values the app stores for each lead (phones normalised once, here, untimed)."""
    from crm.lib.phones import normalise_phone

    return [
        {
            "name": " ".join(lead.get("name", "").split()),
            "phone": normalise_phone(lead["phone"]) if lead.get("phone") else "",
            "email": lead.get("email", "").lower(),
            "message": lead.get("message", ""),
            "external_id": "raw-" + lead["external_id"],
            "utm_source": lead.get("utm_source", ""),
            "utm_medium": lead.get("utm_medium", ""),
            "utm_campaign": lead.get("utm_campaign", ""),
        }
        for lead in leads
    ]


class ModelInsert:
    """INSERT INTO <model's table> with every column Django's save() writes for a new row,
    unnamed fields taking their model default (or NULL / '')."""

    def __init__(self, model, returning: bool):
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(f.column for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        self.sql = f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({marks})"
        if returning:
            self.sql += " RETURNING id"
        from django.db import connection

        self.defaults = {}
        for f in self.fields:
            if f.has_default():  # adapted by the field, as Django's save() does (JSON columns)
                self.defaults[f.attname] = f.get_db_prep_save(f.get_default(), connection)
            elif f.null:
                self.defaults[f.attname] = None
            else:
                self.defaults[f.attname] = ""

    def params(self, values: dict) -> list:
        return [
            values[f.attname] if f.attname in values else self.defaults[f.attname]
            for f in self.fields
        ]

    def multi(self, rows: list[dict]) -> tuple[str, list]:
        """One multi-row INSERT, as bulk_create issues it."""
        marks = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        head = self.sql.split(" VALUES ")[0]
        params = [p for values in rows for p in self.params(values)]
        return f"{head} VALUES {', '.join([marks] * len(rows))}", params


def raw_insert(
    url: str, rows: list[dict], team, source_id: int, threads: int, variant: str
) -> dict:
    """variant: "lead" (the lead row only), "event" (+ its LeadEvent), "all" (+ the Deadline
    rows, when the app has them): one transaction per lead, as the app does."""
    import psycopg2

    from leads import models as lead_models

    lead_insert = ModelInsert(lead_models.Lead, returning=True)
    event_insert = ModelInsert(lead_models.LeadEvent, returning=False)
    from crm.deadlines.models import Deadline

    deadline_insert = ModelInsert(Deadline, returning=False)
    name, params = server_params(url)
    conns = [psycopg2.connect(dbname=name, **params) for _ in range(threads)]
    lock = threading.Lock()
    indices = iter(range(len(rows)))
    latencies: list[float] = []
    errors: list[str] = []

    def work(conn):
        mine = []
        cur = conn.cursor()
        while True:
            with lock:
                i = next(indices, None)
            if i is None:
                break
            t0 = time.perf_counter()
            try:
                now = datetime.now(UTC)
                warn_at = now + timedelta(minutes=team.sla_warn_minutes)
                breach_at = now + timedelta(minutes=team.sla_breach_minutes)
                row = {**rows[i], "external_id": f"{variant}-{rows[i]['external_id']}"}
                cur.execute(
                    lead_insert.sql,
                    lead_insert.params(
                        {
                            **row,
                            "team_id": team.pk,
                            "source_id": source_id,
                            "created_at": now,
                            "warn_at": warn_at,
                            "breach_at": breach_at,
                            "due_at": breach_at,
                        }
                    ),
                )
                lead_id = cur.fetchone()[0]
                if variant in ("event", "all"):
                    cur.execute(
                        event_insert.sql,
                        event_insert.params({"lead_id": lead_id, "at": now, "kind": "created"}),
                    )
                if variant == "all" and deadline_insert:
                    cur.execute(
                        *deadline_insert.multi(
                            [
                                {"lead_id": lead_id, "kind": "warn", "due_at": warn_at},
                                {"lead_id": lead_id, "kind": "breach", "due_at": breach_at},
                            ]
                        )
                    )
                conn.commit()
            except Exception as exc:  # noqa: BLE001
                conn.rollback()
                errors.append(repr(exc))
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=work, args=(c,)) for c in conns]
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = cpu_snapshot(None, [])
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    cpu1 = cpu_snapshot(None, [])
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    for c in conns:
        c.close()
    cpu = cpu_delta(cpu0, cpu1)
    cpu["generator"] = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    cpu["bench"] -= cpu["generator"]
    return {
        "wall": wall,
        "latencies": latencies,
        "errors": errors,
        "cpu": cpu,
        "rate": (len(rows) - len(errors)) / wall,
    }


def wait_for_quiet(max_wait: float, busy_limit: float = 0.25) -> None:
    """Before a measured phase: wait (up to max_wait s) until the machine is mostly idle, so
    another job's CPU does not land in the figures; say how busy it was either way."""
    deadline = time.monotonic() + max_wait
    while True:
        a = cpu_snapshot(None, [])
        time.sleep(1.0)
        b = cpu_snapshot(None, [])
        used, idle = b["busy"] - a["busy"], b["idle"] - a["idle"]
        busy = used / max(1e-9, used + idle)
        if busy <= busy_limit or time.monotonic() >= deadline:
            state = "quiet" if busy <= busy_limit else "STILL BUSY (figures include contention)"
            print(f"  machine before the run: {100 * busy:.0f}% of {CORES} cores busy -> {state}")
            return
        time.sleep(2.0)


# ---------------------------------------------------------------- main


def measured_load(server, requests, args, slug: str) -> dict:
    """The timed run; repeated (up to --busy-retries times, the rows of the attempt removed)
    when other processes used more than a quarter of a core during it."""
    for attempt in range(args.busy_retries + 1):
        wait_for_quiet(args.quiet_wait)
        result = run_load(
            "127.0.0.1", server.port, requests, args.clients, args.gen_procs, server.pid
        )
        cpu = result["cpu"]
        others = max(0.0, cpu["other"] + cpu["bench"]) / result["wall"]
        result["others"] = others
        if others <= 0.25 or attempt == args.busy_retries:
            if others > 0.25:
                print(f"  (other processes used {100 * others:.0f}% of a core during this run)")
            return result
        print(
            f"  attempt {attempt + 1}: other processes used {100 * others:.0f}% of a core "
            f"({result['statuses'].get(201, 0) / result['wall']:.0f}/s measured): repeating"
        )
        delete_bench_leads((slug,))
        connections_close_all()
    raise AssertionError("unreachable")


def connections_close_all() -> None:
    from django.db import connections

    connections.close_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--workers",
        type=int,
        default=CORES + 1,
        help="gunicorn worker processes (default cores + 1: measured best here)",
    )
    parser.add_argument(
        "--worker-class",
        default="sync,gthread",
        help="comma-separated: each is run and reported (default sync,gthread)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--gen-procs",
        type=int,
        default=2,
        help="load-generator processes (the clients are split among them)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="warm-up posts per configuration (default 100 per worker thread)",
    )
    parser.add_argument(
        "--gunicorn-config",
        default="auto",
        help="gunicorn --config: 'auto' (default) is the project's gunicorn.conf.py when it "
        "exists (the production shape, e.g. its JSON access log), 'none' gunicorn's defaults, "
        "or a path; --bind, --workers, --worker-class and --threads are set here regardless",
    )
    parser.add_argument(
        "--app",
        default="crm.wsgi:application",
        help="the WSGI app under test (default crm.wsgi:application)",
    )
    parser.add_argument(
        "--busy-retries",
        type=int,
        default=2,
        help="repeat a timed run when other processes used over 25%% of a core in it",
    )
    parser.add_argument(
        "--settings",
        default="crm.settings",
        help="DJANGO_SETTINGS_MODULE for the app under test (default crm.settings)",
    )
    parser.add_argument(
        "--pgoptions",
        default="",
        help='PGOPTIONS for every connection, e.g. "-c synchronous_commit=off"',
    )
    parser.add_argument("--no-lean", action="store_true", help="skip the lean-Django reference")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw psycopg2 reference")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="cProfile N posts in process and print the top functions",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="before each measured phase, wait up to this many seconds for "
        "other jobs' CPU use to drop below 25%% (0: do not wait)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench leads")
    parser.add_argument(
        "--drop", action="store_true", help="drop the database at the end if this run created it"
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL=postgres://... (this benchmark is for PostgreSQL)")
        return 2
    if not os.environ.get("REDIS_URL"):
        print("note: REDIS_URL unset: the rate limit counts in each worker's local memory")

    created = ensure_database(url)
    global BENCH_DB
    BENCH_DB = server_params(url)[0]
    lock = run_lock(url)
    if lock is None:
        print("another intake_bench run holds this database: wait for it to finish")
        return 2
    if args.pgoptions:
        os.environ["PGOPTIONS"] = args.pgoptions  # libpq: every connection of this run
    django_setup(args.settings)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", interactive=False, verbosity=0)
    fixtures = make_fixtures()
    team, sources = fixtures["team"], fixtures["sources"]
    delete_bench_leads()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM leads_lead")
        (existing,) = cur.fetchone()
        cur.execute("SHOW synchronous_commit")
        (sync_commit,) = cur.fetchone()
        cur.execute("SHOW autovacuum")
        (autovacuum,) = cur.fetchone()
        cur.execute("SHOW server_version")
        (pg_version,) = cur.fetchone()
    db = settings.DATABASES["default"]
    print(f"settings {args.settings}; PGOPTIONS={os.environ.get('PGOPTIONS', '')!r}")
    print(
        f"database {db['NAME']} ({'created' if created else 'existing'}), PostgreSQL "
        f"{pg_version}, synchronous_commit={sync_commit}, autovacuum={autovacuum}, "
        f"{existing} other leads in the table; "
        f"CONN_MAX_AGE={db.get('CONN_MAX_AGE')}, CONN_HEALTH_CHECKS="
        f"{db.get('CONN_HEALTH_CHECKS')}, DEBUG={settings.DEBUG}, cache="
        f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; {CORES} CPU cores; "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )

    run_tag = f"bench{int(time.time())}"
    t0 = time.perf_counter()
    leads = make_leads(args.posts, run_tag)
    print(
        f"{len(leads)} leads built in {time.perf_counter() - t0:.1f} s "
        f"({sum('phone' in x for x in leads)} with a phone, "
        f"{sum('email' in x for x in leads)} with an e-mail); example: "
        f"{json.dumps(leads[0], ensure_ascii=False)}"
    )

    in_process(
        sources[SOURCE_SLUG],
        make_leads(21 + 300 + args.profile, "inproc", seed=7),
        args.profile,
        run_tag,
    )
    connections.close_all()

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": args.settings, "DEBUG": "false"}
    gunicorn_config = args.gunicorn_config
    if gunicorn_config == "auto":
        found = ROOT / "gunicorn.conf.py"
        gunicorn_config = str(found) if found.exists() else ""
    elif gunicorn_config == "none":
        gunicorn_config = ""
    print(f"\ngunicorn config: {gunicorn_config or 'none (gunicorn defaults)'}")
    key = sources[SOURCE_SLUG].intake_key
    results: dict[str, dict] = {}
    classes = [c.strip() for c in args.worker_class.split(",") if c.strip()]
    try:
        for worker_class in classes:
            label = f"gunicorn {worker_class}, {args.workers} workers" + (
                f" x {args.threads} threads" if worker_class == "gthread" else ""
            )
            delete_bench_leads((SOURCE_SLUG,))
            connections.close_all()
            server = Gunicorn(
                args.app, worker_class, args.workers, args.threads, env, gunicorn_config
            )
            RUNNING.append(server)
            # A post with a wrong key: 403 once Django is loaded and the database answers.
            server.wait_ready(http_request("127.0.0.1", server.port, key + "-wrong", {}), 403)
            per_slot = args.workers * (args.threads if worker_class == "gthread" else 1)
            warm = args.warmup or max(500, 100 * per_slot)
            warm_leads = make_leads(warm, f"warm{run_tag}", seed=11)
            warm_requests = [http_request("127.0.0.1", server.port, key, x) for x in warm_leads]
            warm_result = run_load(
                "127.0.0.1", server.port, warm_requests, args.clients, args.gen_procs, server.pid
            )
            print(
                f"\n[{label}] warm-up: {warm} posts, {warm_result['statuses']}, "
                f"{warm_result['statuses'].get(201, 0) / warm_result['wall']:.0f}/s; kept as the "
                "team's open backlog, tables analysed"
            )
            keep_as_backlog(sources[SOURCE_SLUG], sources[BACKLOG_SLUG])
            connections.close_all()
            requests = [http_request("127.0.0.1", server.port, key, x) for x in leads]
            result = measured_load(server, requests, args, SOURCE_SLUG)
            figures = report_load(f"app ({args.app}): {label}", result, args.posts)
            figures["stored_ok"] = verify_stored(
                sources[SOURCE_SLUG], args.posts, run_tag, result["ids"]
            )
            figures["label"], figures["worker_class"] = label, worker_class
            results[worker_class] = figures
            if set(warm_result["statuses"]) | set(result["statuses"]) != {201}:
                log = server.log_tail(25)
                print("  gunicorn log tail:\n    " + log.replace("\n", "\n    "))
            server.stop()
            RUNNING.remove(server)

        best = max(results.values(), key=lambda r: (r["rate"], -r["p99"])) if results else None

        lean = None
        if not args.no_lean and best is not None:
            lean_env = {
                **env,
                "BENCH_LEAN_SOURCE_ID": str(sources[LEAN_SLUG].pk),
                "BENCH_LEAN_TEAM_ID": str(team.pk),
            }
            lean_env.pop("DJANGO_SETTINGS_MODULE")
            server = Gunicorn(
                "bench.intake_lean:application",
                best["worker_class"],
                args.workers,
                args.threads,
                lean_env,
                gunicorn_config,
            )
            RUNNING.append(server)
            get = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
            server.wait_ready(get, 405)  # the lean view answers GET with 405, touching nothing
            lean_key = sources[LEAN_SLUG].intake_key
            warm_requests = [
                http_request(
                    "127.0.0.1",
                    server.port,
                    lean_key,
                    {**x, "external_id": "lean-warm-" + x["external_id"]},
                )
                for x in make_leads(500, f"leanwarm{run_tag}", seed=13)
            ]
            run_load(
                "127.0.0.1", server.port, warm_requests, args.clients, args.gen_procs, server.pid
            )
            requests = [
                http_request(
                    "127.0.0.1",
                    server.port,
                    lean_key,
                    {**x, "external_id": "lean-" + x["external_id"]},
                )
                for x in leads
            ]
            result = measured_load(server, requests, args, LEAN_SLUG)
            lean = report_load(
                f"lean Django reference (insert only, no middleware): {best['label']}",
                result,
                args.posts,
            )
            server.stop()
            RUNNING.remove(server)
    finally:
        stop_all()

    raws: dict[str, dict] = {}
    if not args.no_raw:
        rows = raw_rows(leads)
        variants = [
            ("lead", "lead INSERT"),
            ("event", "lead INSERT + LeadEvent INSERT"),
            ("all", "lead + LeadEvent + 2 Deadline rows (all the app writes)"),
        ]
        for variant, what in variants:
            wait_for_quiet(args.quiet_wait)
            r = raw_insert(url, rows, team, sources[RAW_SLUG].pk, args.clients, variant)
            r["what"] = what
            print(f"\n== raw psycopg2: {what}, one transaction per lead, {args.clients} threads ==")
            print(
                f"  {len(rows)} leads in {r['wall']:.2f} s -> {r['rate']:.0f} leads/s; "
                f"errors {len(r['errors'])} {r['errors'][:2]}"
            )
            print(f"  latency: {latency_line(r['latencies'])}")
            print_cpu(r["cpu"], r["wall"], len(rows))
            raws[variant] = r

    print("\n== summary ==")
    for figures in results.values():
        print(
            f"  app, {figures['label']}: {figures['rate']:.0f} leads/s, p50 {figures['p50']:.1f}"
            f" ms, p99 {figures['p99']:.1f} ms, errors {figures['errors']}, stored "
            f"{'OK' if figures['stored_ok'] else 'MISMATCH'}; gunicorn CPU "
            f"{figures['cpu_per_post']:.2f} ms/post; other processes took "
            f"{100 * figures['others']:.0f}% of a core"
        )
    if lean:
        print(
            f"  lean Django insert-only ({best['worker_class']}): {lean['rate']:.0f} posts/s, "
            f"p99 {lean['p99']:.1f} ms; gunicorn CPU {lean['cpu_per_post']:.2f} ms/post; other "
            f"processes took {100 * lean['others']:.0f}% of a core"
        )
    if best is not None:
        for r in raws.values():
            print(
                f"  raw psycopg2, {r['what']}: {r['rate']:.0f} leads/s, p99 "
                f"{pct([x * 1000 for x in r['latencies']], 0.99):.1f} ms -> app/raw = "
                f"{best['rate'] / r['rate']:.2f}"
            )
        if lean:
            print(f"  app/lean Django = {best['rate'] / lean['rate']:.2f}")
        met = best["rate"] >= 500 and best["p99"] < 100 and best["errors"] == 0
        print(
            f"  best: {best['label']}; target >= 500 leads/s with p99 < 100 ms: "
            f"{'MET' if met else 'NOT MET'}"
        )

    if not args.keep:
        delete_bench_leads()
    connections.close_all()
    lock.close()
    if args.drop and created:
        drop_database(url)
    return 0 if all(r["stored_ok"] and not r["errors"] for r in results.values()) else 1


if __name__ == "__main__":

    def _terminate(signum, frame):
        stop_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    finally:
        stop_all()
