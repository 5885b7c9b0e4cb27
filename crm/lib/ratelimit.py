"""A fixed-window rate limit on the shared cache (Redis when REDIS_URL is set, so every web
process counts together; the in-process cache otherwise)."""

import logging
import time

from django.core.cache import cache
from django.http import HttpRequest

log = logging.getLogger(__name__)


def rate_limited(key: str, limit: int, window_s: int = 60) -> bool:
    """Count one hit for `key`; True once more than `limit` hits fell in this window.

    When the cache is down (Redis restarting) this lets the post through: losing a paid lead
    costs more than a few unthrottled posts."""
    bucket = f"ratelimit:{key}:{int(time.time() // window_s)}"
    try:
        cache.add(bucket, 0, timeout=window_s * 2)
        try:
            hits = cache.incr(bucket)
        except ValueError:  # the bucket expired between add and incr
            cache.set(bucket, 1, timeout=window_s * 2)
            hits = 1
    except Exception:  # noqa: BLE001 - any cache failure
        log.warning("rate limit cache unavailable; letting the post through")
        return False
    return hits > limit


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: a forwarded header is the client's word, not a fact. Behind a proxy,
    # have it set REMOTE_ADDR (see the README).
    return request.META.get("REMOTE_ADDR", "")
