import logging

from celery import shared_task
from django.utils import timezone

from telephony import recordings

log = logging.getLogger(__name__)


@shared_task(
    ignore_result=True,
    autoretry_for=(recordings.RecordingUnavailable,),
    # 1, 2, 4 … minutes, at most an hour apart, for about a day: a PBX down for maintenance
    # still gives the file; one that never does leaves the call without it.
    retry_backoff=60,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=30,
)
def fetch_recording(call_id: int) -> None:
    try:
        recordings.recording_fetch(call_id, now=timezone.now())
    except recordings.BadRecording as bad:
        log.warning("recording not kept", extra={"call": call_id, "why": str(bad)})


@shared_task(ignore_result=True)
def sweep_recordings() -> None:
    """Beat: recordings older than RECORDING_KEEP_DAYS deleted."""
    recordings.recordings_sweep(now=timezone.now())
