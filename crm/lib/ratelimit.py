"""A fixed-window rate limit: on Redis when REDIS_URL is set, so every web process counts
together; on the in-process cache otherwise."""

import logging
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

log = logging.getLogger(__name__)

_redis: redis.Redis | None = None


def rate_limited(key: str, limit: int, window_s: int = 60) -> bool:
    """Count one hit for `key`; True once more than `limit` hits fell in this window.

    When Redis is down (restarting) this lets the post through: losing a paid lead costs
    more than a few unthrottled posts."""
    bucket = f"ratelimit:{key}:{int(time.time() // window_s)}"
    try:
        hits = _count_on_redis(bucket, window_s) if settings.REDIS_URL else _count(bucket, window_s)
    except Exception:  # noqa: BLE001 - any cache failure
        log.warning("rate limit cache unavailable; letting the post through")
        return False
    return hits > limit


def _count_on_redis(bucket: str, window_s: int) -> int:
    # One round trip per hit (INCR, and EXPIRE only when the bucket is new): intake calls this
    # on every post. One client per process; redis-py's pool is thread-safe.
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)
    pipe = _redis.pipeline(transaction=False)
    pipe.incr(bucket)
    pipe.expire(bucket, window_s * 2, nx=True)
    hits, _new = pipe.execute()
    return hits


def _count(bucket: str, window_s: int) -> int:
    cache.add(bucket, 0, timeout=window_s * 2)
    try:
        return cache.incr(bucket)
    except ValueError:  # the bucket expired between add and incr
        cache.set(bucket, 1, timeout=window_s * 2)
        return 1


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: a forwarded header is the client's word, not a fact. Behind a proxy,
    # have it set REMOTE_ADDR (see the README).
    return request.META.get("REMOTE_ADDR", "")
