"""gunicorn for production. Its error and access logs go through the same JSON logging and
redaction as Django's (crm/lib/logs.py); the access log's fields are gunicorn's atoms, written
by the JSON library (the path without its query string: an intake key can ride in one)."""

import contextlib
import ctypes
import os
import signal
import sys

from gunicorn import glogging

from crm.lib import logs

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_WORKERS", "3"))
control_socket_disable = True
# A request that takes longer than this is killed, its client left with what was sent so far
# (a truncated 200 for a stream). Nothing here should come near it: pages answer in well under a
# second, the CSV export streams only up to EXPORT_STREAM_MAX_ROWS rows (a few seconds) and
# longer ones are written by a worker (leads/exports.py). Set, not left to the default, so that
# raising it is a decision: a long request belongs in the worker.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))

accesslog = "-"
access_log_format = "%(m)s %(U)s %(s)s"  # the message; the fields come from the atoms
logconfig_dict = logs.config(os.environ.get("LOG_LEVEL", "INFO"))


class Atoms(dict):
    def __missing__(self, key: str) -> str:
        return "-"


class Logger(glogging.Logger):
    """Access records carry only the atoms that are logged, as they are: never the query
    string, the headers (an intake key, cookies, tokens) or the environ. (gunicorn's own
    SafeAtoms backslashes quotes for its text format; here the JSON library escapes.)"""

    atoms_wrapper_class = Atoms
    KEPT = ("m", "U", "s", "B", "M", "H")

    def atoms(self, resp, req, environ, request_time) -> dict:
        every = super().atoms(resp, req, environ, request_time)
        return {atom: every[atom] for atom in self.KEPT}


logger_class = Logger


def post_fork(server, worker) -> None:
    """A worker goes when its master dies (a crash, kill -9): told by the kernel, it finishes
    its request and exits, instead of serving on alone until it notices — and holding the
    port the restarted master (supervisord, systemd, docker) must bind."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
