"""Logs are one JSON object a line, and never carry a phone, an e-mail or an intake key:
personal data stays in the database (Russian law keeps it on the customer's servers)."""

import logging
import re

PHONE = re.compile(r"\+?\d[\d\s().-]{8,}\d")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
SECRET_PARAM = re.compile(r"(key=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = SECRET_PARAM.sub(r"\1[hidden]", text)
    return PHONE.sub("[phone]", text)


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info:
            # A traceback quotes values too ("Key (phone)=(+7…) already exists"): render it
            # here, redacted, so the formatter prints this text instead.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
