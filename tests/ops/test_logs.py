"""The one redaction filter cleans every field of a record, the one JSON formatter writes UTC
times with their offset, gunicorn's access records are its atoms serialised by the JSON
library, and the e-mail backends never put a message's contents into a log. (The same end to
end, every process under bin/serve: tests/faults/test_logs.py.)"""

import io
import json
import logging
import os
import re
import runpy
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.mail import EmailMessage
from django.test import RequestFactory

from crm.lib.logs import AccessFormatter, JsonFormatter, LogOnlyEmailBackend, RedactPersonalData

ROOT = Path(__file__).resolve().parents[2]
KEY = "Xk3-secret_intake_KEY9"
PHONES = ["+79161234567", "79161234567", "9161234567", "8 916 123-45-67", "8 (916) 123-45-67"]
EMAIL = "ivan.petrov@example.ru"
SECRETS = [KEY, *PHONES, EMAIL, "ivan.petrov%40example.ru", "123-45-67"]


def formatted(record: logging.LogRecord, formatter: logging.Formatter | None = None) -> str:
    RedactPersonalData().filter(record)
    return (formatter or JsonFormatter()).format(record)


def assert_clean(line: str) -> dict:
    for secret in SECRETS:
        assert secret not in line
    return json.loads(line)


def record(msg, args=(), exc_info=None, **extra) -> logging.LogRecord:
    made = logging.LogRecord("crm.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_the_message_and_its_arguments_are_redacted_once_rendered():
    line = formatted(record("lead %s from %s with key=%s", (PHONES[3], EMAIL, KEY)))
    assert assert_clean(line)["message"] == "lead [phone] from [email] with key=[hidden]"
    # A key split between the format and its argument is still a key once rendered.
    line = formatted(record("/api/v1/intake/?key=%s&phone=%s", (KEY, PHONES[0])))
    assert assert_clean(line)["message"] == "/api/v1/intake/?[query]"


def test_extra_fields_are_redacted_whatever_their_shape():
    request = RequestFactory().post(f"/api/v1/intake/?key={KEY}&phone={PHONES[0]}")
    line = formatted(
        record(
            "Bad Request: %s",
            ("/api/v1/intake/",),
            status_code=400,
            request=request,  # django.request's extra: it used to print the full path
            data={"args": f"['{EMAIL}', '{PHONES[1]}']", "runtime": 0.25, "id": 7},  # Celery's
            headers={"X-Intake-Key": "any value at all", "Cookie": "sessionid=abc"},
            recipients=[EMAIL, (PHONES[2], None)],
            raw=f"email={EMAIL}".encode(),
        )
    )
    fields = assert_clean(line)
    assert fields["request"] == "POST /api/v1/intake/"
    assert fields["status_code"] == 400
    assert fields["data"] == {"args": "['[email]', '[phone]']", "runtime": 0.25, "id": 7}
    assert fields["headers"] == {"X-Intake-Key": "[hidden]", "Cookie": "[hidden]"}
    assert fields["recipients"] == ["[email]", ["[phone]", None]]
    assert fields["raw"] == "email=[email]"
    assert "any value at all" not in line and "sessionid" not in line


def test_tracebacks_stacks_and_dict_messages_are_redacted():
    try:
        raise ValueError(f"Key (phone)=({PHONES[0]}) already exists; POST /x/?key={KEY}")
    except ValueError:
        line = formatted(record("failed", exc_info=sys.exc_info()))
    assert "ValueError" in assert_clean(line)["exc_info"]
    line = formatted(record("here", stack_info=f"File x.py, in f\n  send({EMAIL!r})"))
    assert "[email]" in assert_clean(line)["stack_info"]
    cached = record("failed")
    cached.exc_text = f"Traceback …\nIntegrityError: {PHONES[4]}"
    assert "[phone]" in assert_clean(formatted(cached))["exc_info"]
    line = formatted(record({"event": "intake", "phone": PHONES[0], "key": KEY}))
    assert assert_clean(line)["phone"] == "[phone]"


def test_dates_durations_and_ids_are_not_taken_for_phones():
    text = (
        "Task x[b791c847-eb56-4187-9012-dacdf4fb434a] sent at 2026-11-30 10:15:00 "
        "in 0.0288827780000247s, lead 12345"
    )
    assert json.loads(formatted(record(text)))["message"] == text


def test_a_record_that_cannot_be_rendered_is_replaced_not_printed():
    line = formatted(record("lead %s %s", (PHONES[0],)))  # one argument short
    assert "could not be redacted" in assert_clean(line)["message"]


def test_times_are_utc_with_their_offset_whatever_the_server_zone():
    assert os.environ.get("TZ") == "Europe/Moscow"  # Django set the process's zone
    line = formatted(record("hello"))
    fields = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", fields["time"])
    assert list(fields)[:4] == ["time", "level", "logger", "message"]


@pytest.fixture
def gunicorn_access():
    """gunicorn.conf.py's logger class, its access records through the filter and the access
    formatter into a buffer (the loggers' handlers are put back afterwards)."""
    from gunicorn.config import Config

    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cfg = Config()
    for name in ("accesslog", "access_log_format", "logger_class"):
        cfg.set(name, conf[name])
    loggers = [logging.getLogger("gunicorn.error"), logging.getLogger("gunicorn.access")]
    saved = [(log, log.handlers[:], log.level, log.propagate) for log in loggers]
    log = conf["Logger"](cfg)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RedactPersonalData())
    handler.setFormatter(AccessFormatter())
    loggers[1].handlers = [handler]
    yield log, buffer
    for logger, handlers, level, propagate in saved:
        logger.handlers, logger.level, logger.propagate = handlers, level, propagate


def access(log, path: str, query: str, status: str = "404 Not Found") -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": f"{path}?{query}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_INTAKE_KEY": KEY,
    }
    response = SimpleNamespace(status=status, sent=17, headers=[("Set-Cookie", "sessionid=s")])
    request = SimpleNamespace(headers=[("X-INTAKE-KEY", KEY), ("COOKIE", "sessionid=s")])
    log.access(response, request, environ, timedelta(milliseconds=12))


def test_a_crafted_path_cannot_forge_access_log_fields(gunicorn_access):
    log, buffer = gunicorn_access
    crafted = [
        '/x","status":200,"forged":"yes',
        '/x\n{"time": "1970-01-01", "status": 200}',
        '/x\\"}, "status": 200',
        "/x\u2028\u0000\x1b[31m",
    ]
    for path in crafted:
        access(log, path, f"key={KEY}&phone=%2B79161234567")
    lines = buffer.getvalue().splitlines()
    assert len(lines) == len(crafted)  # a newline in the path stays inside its string
    for path, line in zip(crafted, lines, strict=True):
        fields = assert_clean(line)
        assert set(fields) == {
            "time",
            "level",
            "logger",
            "message",
            "method",
            "path",
            "status",
            "bytes",
            "duration_ms",
        }
        assert (fields["path"], fields["status"], fields["method"]) == (path, 404, "GET")
        assert (fields["bytes"], fields["duration_ms"], fields["logger"]) == (
            17,
            12,
            "gunicorn.access",
        )
        assert "sessionid" not in line


def test_access_records_carry_no_query_string_headers_or_environ(gunicorn_access):
    log, buffer = gunicorn_access
    records = []
    capture = logging.Handler()
    capture.emit = records.append
    logging.getLogger("gunicorn.access").addHandler(capture)
    access(log, "/api/v1/intake/", f"key={KEY}", status="201 Created")
    (made,) = records
    assert set(made.args) == {"m", "U", "s", "B", "M", "H"}
    fields = json.loads(buffer.getvalue())
    assert (fields["path"], fields["status"]) == ("/api/v1/intake/", 201)


def test_every_process_logs_through_the_same_configuration(settings):
    from crm.celery import app, configure_logging

    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["logconfig_dict"] == settings.LOGGING
    assert app.conf.worker_hijack_root_logger is False
    configure_logging()  # what Celery's worker and beat run instead of their own setup
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter)
    assert any(isinstance(f, RedactPersonalData) for f in handler.filters)
    # Django's and gunicorn's own handlers give way: one format, one filter
    for name in ("django", "django.server", "gunicorn.error"):
        assert logging.getLogger(name).handlers == []


def test_the_e_mail_log_backend_logs_that_a_message_was_not_sent_and_nothing_of_it(caplog):
    message = EmailMessage(
        subject="SLA breach: Ivan Petrov has not been called in time.",
        body=f"Ivan Petrov, {PHONES[0]}",
        to=[EMAIL],
        headers={"X-Notification-Id": "42"},
    )
    assert LogOnlyEmailBackend().send_messages([message]) == 1
    (made,) = caplog.records
    line = formatted(made)
    assert "Petrov" not in line and json.loads(line)["notification_id"] == "42"


@pytest.mark.parametrize(
    ("debug", "backend", "refused"),
    [
        ("false", "django.core.mail.backends.console.EmailBackend", True),
        ("true", "django.core.mail.backends.console.EmailBackend", False),
        ("false", "", False),
    ],
)
def test_the_console_e_mail_backend_is_for_debug_only(debug, backend, refused):
    env = {**os.environ, "DEBUG": debug, "EMAIL_BACKEND": backend}
    if not backend:
        del env["EMAIL_BACKEND"]
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.EMAIL_BACKEND)"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "crm.settings"},
        capture_output=True,
        text=True,
    )
    assert (result.returncode != 0) == refused, result.stderr
    if refused:
        assert "ImproperlyConfigured" in result.stderr
    elif not backend:
        assert result.stdout.strip() == "crm.lib.logs.LogOnlyEmailBackend"


@pytest.mark.parametrize("unit", ["a", "key", "a?", "%40", "1 ", "a.", "a-"])
def test_a_long_line_is_redacted_in_linear_time(unit):
    import time

    from crm.lib.logs import redact

    started = time.perf_counter()
    redact(unit * (200_000 // len(unit)))
    assert time.perf_counter() - started < 5  # quadratic patterns took minutes here


def test_an_uncaught_exception_is_logged_as_redacted_json_not_printed(monkeypatch):
    """Beat can die at shutdown on its closed schedule file; Python would print that traceback
    as plain text, and with it whatever the exception's message holds."""
    import threading

    from crm.lib.logs import log_uncaught_exceptions

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactPersonalData())
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    logging.getLogger("crm.uncaught").addHandler(handler)
    try:
        log_uncaught_exceptions()
        try:
            raise ValueError(f"no such lead {PHONES[0]} for {EMAIL}")
        except ValueError:
            sys.excepthook(*sys.exc_info())
        worker = threading.Thread(target=lambda: 1 / 0)
        worker.start()
        worker.join()
    finally:
        logging.getLogger("crm.uncaught").removeHandler(handler)
    lines = [assert_clean(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [
        "uncaught exception",
        "uncaught exception in a thread",
    ]
    assert "ValueError" in lines[0]["exc_info"] and "ZeroDivisionError" in lines[1]["exc_info"]
