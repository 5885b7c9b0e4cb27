"""The addresses each PBX posts its events to. They answer fast and never 5xx: a bad signature
is a 403, a request that is no event a 400, both as JSON."""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from telephony import adapters, services
from telephony.events import BadEvent, BadSignature, CallEvent
from telephony.models import PbxConnection

log = logging.getLogger(__name__)


def _connection(provider: str, key: str) -> PbxConnection:
    return get_object_or_404(
        PbxConnection.objects.select_related("team"), provider=provider, url_key=key, active=True
    )


def _receive(
    connection: PbxConnection, read: Callable[[], CallEvent | None], answer: HttpResponse
) -> HttpResponse:
    try:
        event = read()
    except BadSignature as refused:
        log.warning("PBX request refused", extra={"connection": connection.pk, "why": str(refused)})
        return JsonResponse({"error": "bad signature"}, status=403)
    except BadEvent as bad:
        return JsonResponse({"error": str(bad)}, status=400)
    if event is not None:
        services.record_event(connection, event)
    return answer


MANGO_EVENTS = {
    "call": adapters.mango_call,
    "summary": adapters.mango_summary,
    "recording": adapters.mango_recording,
}


@csrf_exempt
@require_POST
def mango(request: HttpRequest, key: str, kind: str) -> HttpResponse:
    connection = _connection(PbxConnection.Provider.MANGO, key)
    parse = MANGO_EVENTS.get(kind)
    if parse is None:
        return JsonResponse({"error": f"unknown event kind {kind!r}"}, status=404)

    def read() -> CallEvent | None:
        return parse(adapters.mango_payload(connection, request.POST))

    return _receive(connection, read, HttpResponse(status=200))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def zadarma(request: HttpRequest, key: str) -> HttpResponse:
    connection = _connection(PbxConnection.Provider.ZADARMA, key)
    if request.method == "GET":
        # Zadarma checks the address by asking it to echo a value.
        return HttpResponse(request.GET.get("zd_echo", ""), content_type="text/plain")

    def read() -> CallEvent | None:
        signature = request.headers.get("Signature", "")
        return adapters.zadarma_event(connection, request.POST, signature)

    return _receive(connection, read, HttpResponse(status=200))


@csrf_exempt
@require_POST
def generic(request: HttpRequest, key: str) -> HttpResponse:
    connection = _connection(PbxConnection.Provider.GENERIC, key)

    def read() -> CallEvent:
        return adapters.generic_event(
            connection,
            request.body,
            request.headers.get("X-Timestamp", ""),
            request.headers.get("X-Signature", ""),
        )

    return _receive(connection, read, JsonResponse({"ok": True}))
