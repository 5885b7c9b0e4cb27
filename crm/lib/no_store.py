from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """Pages, API answers and exports carry customers' phones and names: a shared computer's
    browser cache or a proxy must not keep them (Cache-Control: no-store, private). Static
    files are answered by WhiteNoise above this and stay cacheable; a view that chose its own
    caching keeps it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
