"""Logs are one JSON object a line, and never carry a phone, an e-mail or a secret: personal
data stays in the database (Russian law keeps it on the customer's servers).

Every process logs through `config()` — Django in the web and the shell, gunicorn's master,
error and access logs (gunicorn.conf.py), the Celery worker and beat (crm/celery.py): one
formatter (`JsonFormatter`: `time` in UTC with its offset, `level`, `logger`, `message`, then
the record's extra fields) behind one filter (`RedactPersonalData`), which cleans every field
of a record before any formatter sees it — the message, its arguments, the extra fields
(django.request's `request`, Celery's `data`), the traceback and the stack."""

import logging
import re
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# A run of 10+ digits with the separators people type ("+7 (916) 123-45-67", "8 916 123 45 67",
# "89161234567", a form-encoded "8+916+…"); "2026-11-30 10" (a date) and "0.028882778000024"
# (a duration) are not phones, nor is a task id.
PHONE = re.compile(r"\+?\d[\d \t().+-]{8,30}\d")
NOT_PHONE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2})?|\d+\.\d+")
# Celery's task ids: their digit groups are not phones either.
UUID = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")
# "%40" too: an address in a URL-encoded query or form body.
EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]{1,64}(?:@|%40)[\w-]{1,63}(?:\.[\w-]{1,63})+")
# A URL's query string ("/api/v1/intake/?key=…&phone=…"): a path's arguments are not logged.
QUERY = re.compile(r"(?<=[\w/.-])\?[^\s\"'<>=?]{0,256}=[^\s\"'<>]*")
# key=…, intake_key: "…", X-Intake-Key: …, token=…, password=…, Authorization: Token …
SECRET_PARAM = re.compile(
    r"((?<![\w-])(?:[\w-]{0,40}(?:key|token|secret|password|passwd)|authorization)[\"']?\s*[=:]\s*[\"']?"
    r"(?:(?:token|bearer|basic)\s+)?)[^&\s\"',;}]+",
    re.IGNORECASE,
)
# (Each tries only where a word starts, and every repetition before the part that must follow
# is bounded: a long log line costs linear time, never quadratic.)
# A mapping's value under such a name is hidden whatever it looks like.
SECRET_NAME = re.compile(
    r"(?:^|[_-])(?:key|token|secret|password|passwd|authorization|cookie)$", re.IGNORECASE
)

# The attributes every LogRecord has; anything else on a record is an extra field.
STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    text = QUERY.sub("?[query]", text)
    text = SECRET_PARAM.sub(r"\1[hidden]", text)
    text = EMAIL.sub("[email]", text)
    parts = UUID.split(text)  # the ids at odd places, left as they are
    return "".join(part if i % 2 else PHONE.sub(_phone, part) for i, part in enumerate(parts))


def _phone(match: re.Match) -> str:
    found = match.group()
    if NOT_PHONE.fullmatch(found) or sum(c.isdigit() for c in found) < 10:
        return found
    return "[phone]"


def clean(value: Any, name: str = "", depth: int = 0) -> Any:
    """A log field made safe: strings redacted, containers cleaned item by item, and any other
    object rendered once and redacted (an HTTP request becomes its method and path)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if name and SECRET_NAME.search(name):
        return "[hidden]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace"))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if depth < 5:
        if isinstance(value, Mapping):
            return {redact(str(k)): clean(v, str(k), depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [clean(v, depth=depth + 1) for v in value]
    if hasattr(value, "META") and hasattr(value, "method") and hasattr(value, "path"):
        return f"{value.method} {redact(value.path)}"  # a request: never its query or headers
    return redact(str(value))


class RedactPersonalData(logging.Filter):
    """Cleans every field of a record in place, so whichever formatter follows prints nothing
    personal or secret. Idempotent: a record passing two handlers is cleaned twice, the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            _clean_record(record)
        except Exception:  # noqa: BLE001 - a record that cannot be cleaned is not printed as is
            record.msg, record.args = f"[a {record.name} record that could not be redacted]", ()
            record.exc_info = record.exc_text = record.stack_info = None
            for name in set(vars(record)) - STANDARD_ATTRS:
                delattr(record, name)
        return True


_plain = logging.Formatter()


def _clean_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, Mapping):  # logger.info({...}): the JSON formatter prints its keys
        record.msg = clean(record.msg)
        record.args = clean(record.args) if isinstance(record.args, Mapping) else ()
    else:
        message = redact(record.getMessage())
        if isinstance(record.args, Mapping) and record.args:
            # Kept, cleaned, for formatters that read them (gunicorn's access atoms); the
            # message is already rendered, so its own % signs are escaped.
            record.args = clean(record.args)
            record.msg = message.replace("%", "%%")
        else:
            record.msg, record.args = message, ()
    record.__dict__.pop("message", None)
    if record.exc_info:
        # A traceback quotes values ("Key (phone)=(+7…) already exists"): render it here,
        # redacted, so every formatter prints this text instead.
        record.exc_text = redact(_plain.formatException(record.exc_info))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    for name in set(vars(record)) - STANDARD_ATTRS:
        setattr(record, name, clean(getattr(record, name), name))


class JsonFormatter(_JsonFormatter):
    """`{"time": "2026-11-30T10:15:00.123+00:00", "level", "logger", "message", …extra fields}`;
    a traceback in `exc_info`. The JSON library writes every value: no field can be forged."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        return moment.isoformat(timespec="milliseconds")


class AccessFormatter(JsonFormatter):
    """gunicorn's access records: its atoms (the record's args) become fields — `method`,
    `path` (decoded, without the query string), `status`, `bytes`, `duration_ms` — written by
    the JSON library, so a path with quotes or a newline stays inside its own string."""

    ATOMS = {"method": "m", "path": "U", "status": "s", "bytes": "B", "duration_ms": "M"}

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_data, record, message_dict)
        atoms = record.args if isinstance(record.args, Mapping) else {}
        for field, atom in self.ATOMS.items():
            value = atoms.get(atom)
            log_data[field] = value if field in ("method", "path") else _number(value)


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def config(level: str = "INFO") -> dict:
    """The logging configuration of every process (settings.LOGGING, gunicorn's
    logconfig_dict, Celery's worker and beat): JSON on stderr, gunicorn's access log on
    stdout, both through the redaction filter."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "crm.lib.logs.RedactPersonalData"}},
        "formatters": {
            "json": {"()": "crm.lib.logs.JsonFormatter"},
            "access": {"()": "crm.lib.logs.AccessFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["redact"],
                "level": level,
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "filters": ["redact"],
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own handlers (plain text on the console under DEBUG, mail to ADMINS)
            # and gunicorn's give way to the one above: everything reaches the root's.
            "django": {"handlers": [], "propagate": True},
            "django.server": {"handlers": [], "propagate": True},
            "gunicorn.error": {"handlers": [], "propagate": True},
            "gunicorn.access": {"handlers": ["access"], "propagate": False, "level": "INFO"},
            # django-axes reports every successful login at INFO; lockouts come at WARNING.
            "axes": {"level": "WARNING"},
        },
    }


def log_uncaught_exceptions() -> None:
    """An exception nobody caught — in the main thread or another — is logged like any error
    (JSON, redacted) instead of Python printing its traceback as plain text on stderr, where
    a customer's phone in an exception's message would go unredacted."""
    log = logging.getLogger("crm.uncaught")

    def main_thread(kind, value, traceback) -> None:
        log.critical("uncaught exception", exc_info=(kind, value, traceback))

    def other_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not SystemExit:
            log.critical("uncaught exception in a thread", exc_info=args.exc_value)

    sys.excepthook = main_thread
    threading.excepthook = other_thread


class LogOnlyEmailBackend(BaseEmailBackend):
    """The e-mail backend when none is configured outside DEBUG: sends nothing and logs one
    line per message — the notification it was for, never its recipient, subject or body
    (Django's console backend prints all three, customer's name included)."""

    log = logging.getLogger("crm.email")

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            self.log.warning(
                "e-mail not sent: no EMAIL_BACKEND is configured",
                extra={"notification_id": message.extra_headers.get("X-Notification-Id")},
            )
        return len(email_messages)
