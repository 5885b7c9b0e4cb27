"""Call recordings as evidence: fetched from the PBX by a worker once the PBX announces them,
kept in STORAGES["recordings"], served by the app (telephony/listen.py), deleted after
RECORDING_KEEP_DAYS by beat.

How each PBX gives its file:
- Mango: POST <api>/queries/recording/post with the signed form of every Mango command and
  json {"recording_id", "action": "download"}; it answers with the file (or a redirect to it).
- Zadarma: GET /v1/pbx/record/request/?call_id=<call_id_with_rec>, signed as its other API
  calls; it answers {"status": "success", "link": …}, a temporary address the file is then
  read from.
- Generic: GET the event's recording_url with "Authorization: Bearer <the connection's secret>".
"""

import json
import logging
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.client import HTTPResponse
from typing import IO

from django.conf import settings
from django.core.files import File

from telephony import commands
from telephony.models import Call, PbxConnection, recordings_storage

log = logging.getLogger(__name__)

# Per read, not for the whole file: a long recording may take longer than this to arrive.
TIMEOUT_S = 30
CHUNK = 64 * 1024
# The file's first bytes tell what it is; anything else (an error page, JSON) is no recording.
AUDIO_SIGNATURES = [
    (b"RIFF", ".wav"),
    (b"ID3", ".mp3"),
    (b"\xff\xfb", ".mp3"),
    (b"\xff\xf3", ".mp3"),
    (b"\xff\xf2", ".mp3"),
    (b"OggS", ".ogg"),
]
CONTENT_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}


class RecordingUnavailable(Exception):
    """The PBX cannot give the file now (down, too slow, a 5xx): the worker tries again later."""


class BadRecording(Exception):
    """The PBX will not give it (refused, has none, sent something that is no audio): given up,
    the call stays as it is."""


def recording_fetch(call_id: int, *, now: datetime) -> bool:
    """Fetch and keep the call's recording; False when there is nothing (more) to fetch."""
    call = Call.objects.select_related("connection").get(pk=call_id)
    if call.recording or call.recording_deleted_at:
        return False
    if not (call.recording_id or call.recording_url):
        return False
    storage = recordings_storage()
    with tempfile.TemporaryFile() as file:
        _download(_file_request(call), file)
        suffix = _audio_suffix(file)
        name = f"team-{call.connection.team_id}/call-{call.pk}{suffix}"
        name = storage.save(name, File(file, name=name))
    # Claim: two workers fetching the same call (an event posted twice) keep one file.
    claimed = Call.objects.filter(pk=call.pk, recording="", recording_deleted_at=None).update(
        recording=name, recording_fetched_at=now
    )
    if not claimed:
        storage.delete(name)
    return bool(claimed)


def file_suffix(name: str) -> str:
    """A kept file's ending (".wav"), the one its first bytes gave it (_audio_suffix)."""
    return name[name.rfind(".") :]


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(file_suffix(name), "application/octet-stream")


def recordings_sweep(*, now: datetime) -> int:
    """Delete the files kept longer than RECORDING_KEEP_DAYS; the calls stay, marked."""
    cutoff = now - timedelta(days=settings.RECORDING_KEEP_DAYS)
    expired = (
        Call.objects.filter(recording_fetched_at__lt=cutoff, recording_deleted_at=None)
        .exclude(recording="")
        .values_list("pk", "recording")
    )
    deleted = 0
    for pk, name in list(expired):
        # Claim before deleting: a second sweep running at once deletes nothing twice.
        if Call.objects.filter(pk=pk, recording_deleted_at=None).update(
            recording="", recording_deleted_at=now
        ):
            recordings_storage().delete(name)
            deleted += 1
    return deleted


def kept_days(call: Call) -> int:
    """Whole days from the fetch to the deletion: the setting in force then (beat sweeps
    hourly), and still true after the setting changes."""
    if call.recording_deleted_at is None or call.recording_fetched_at is None:
        return settings.RECORDING_KEEP_DAYS
    return (call.recording_deleted_at - call.recording_fetched_at).days


# Talking to the PBX ---------------------------------------------------------------------------


def _file_request(call: Call) -> urllib.request.Request:
    connection = call.connection
    if connection.provider == PbxConnection.Provider.MANGO:
        command = {"recording_id": call.recording_id, "action": "download"}
        return commands.mango_request(connection, "/queries/recording/post", command)
    if connection.provider == PbxConnection.Provider.ZADARMA:
        return urllib.request.Request(_zadarma_link(call))  # noqa: S310 - checked http(s)
    if not call.recording_url:
        raise BadRecording("the generic PBX gave no recording_url")
    secret = connection.api_secret
    return urllib.request.Request(call.recording_url, headers={"Authorization": f"Bearer {secret}"})  # noqa: S310 - a URLField


def _zadarma_link(call: Call) -> str:
    """The temporary address Zadarma gives for the call's recording."""
    params = {"call_id": call.recording_id}  # call_id_with_rec, from NOTIFY_RECORD or NOTIFY_END
    request = commands.zadarma_request(call.connection, "/v1/pbx/record/request/", params)
    with _open(request) as response:
        try:
            answer = json.loads(response.read(CHUNK))
        except ValueError:
            raise BadRecording("Zadarma's answer is not JSON") from None
    if not isinstance(answer, dict) or answer.get("status") != "success":
        why = answer.get("message") if isinstance(answer, dict) else answer
        raise BadRecording(f"Zadarma refused: {why}")
    link = str(answer.get("link") or "")
    if not link.startswith(("https://", "http://")):
        raise BadRecording("Zadarma gave no link")
    return link


class _WebRedirects(urllib.request.HTTPRedirectHandler):
    """A PBX may redirect to its file: followed over http(s) only, and our secret never goes
    along to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            return None  # urllib then answers the 3xx as a refusal
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if (
            new is not None
            and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc
        ):
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_WebRedirects)


@contextmanager
def _open(request: urllib.request.Request) -> Iterator[HTTPResponse]:
    """The PBX's answer; a PBX that is down or failing is worth another try, a refusal not."""
    try:
        with _OPENER.open(request, timeout=TIMEOUT_S) as response:
            yield response
    except urllib.error.HTTPError as refused:
        if refused.code >= 500 or refused.code == 429:
            raise RecordingUnavailable(f"HTTP {refused.code}") from None
        raise BadRecording(f"HTTP {refused.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as unreachable:
        raise RecordingUnavailable(f"the PBX cannot be reached ({unreachable})") from None


def _download(request: urllib.request.Request, file: IO[bytes]) -> None:
    limit = settings.RECORDING_MAX_BYTES
    with _open(request) as response:
        size = 0
        while chunk := response.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise BadRecording(f"bigger than RECORDING_MAX_BYTES ({limit})")
            file.write(chunk)


def _audio_suffix(file: IO[bytes]) -> str:
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    for signature, suffix in AUDIO_SIGNATURES:
        if head.startswith(signature):
            return suffix
    raise BadRecording("the PBX sent no audio (empty, an error page or an unknown format)")
