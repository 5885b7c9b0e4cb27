"""Our own 404 page for objects a view refuses, also under DEBUG.

A role page that is not for the user is a 403 (`crm.access.require`), which Django always
answers with templates/403.html. A 404 raised by a view (an object the user may not see) gets
Django's technical page when DEBUG is on, as under `bin/run`; this middleware answers it with
templates/404.html instead, so what a user meets while trying the product is the product's
page. An address that matches no route still gets the technical page under DEBUG (it lists
the routes, which is what a developer wants), and our 404 page otherwise."""

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.defaults import page_not_found


class RefusalPagesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
