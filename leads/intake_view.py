"""POST /api/v1/intake/: web forms and integrations deliver leads here.

A plain Django view, not a DRF one: intake is the busiest endpoint (every form of every
client), and DRF's request, negotiation and response machinery doubled its CPU per post. Its
contract is documented in the OpenAPI schema by leads/intake_schema.py."""

import io
import json
from collections.abc import Callable, Mapping
from datetime import datetime

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadhandler import load_handler
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from crm.lib.ratelimit import client_address, rate_limited
from leads import intake, services
from leads.models import Lead, LeadSource
from leads.selectors import intake_source

INTAKE_PATH = "/api/v1/intake/"  # crm/urls.py routes it here too (reverse, the schema)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@csrf_exempt  # a public endpoint authenticated by its source key; no session, no cookie
def intake_post(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight(request)
    if request.method != "POST":
        response = _error(_("Only POST is accepted here."), 405)
        response["Allow"] = "POST, OPTIONS"
        return response
    key = request.headers.get("X-Intake-Key") or request.GET.get("key", "")
    if not key or "\x00" in key:  # no key has a NUL; the database would refuse to compare it
        return _error(_("Send the intake key in X-Intake-Key or ?key=."), 401)
    source = intake_source(key)
    if source is None or source.team is None:
        return _error(_("This intake key is unknown or disabled."), 403)
    return _with_cors(request, source, _receive(request, source))


def _receive(request: HttpRequest, source: LeadSource) -> HttpResponse:
    # Size and rate are checked before the body is read.
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > settings.INTAKE_MAX_BODY_BYTES:
        return _error(_("The body is too large."), 413)
    if rate_limited(f"intake:{source.pk}:{client_address(request)}", source.rate_limit_per_minute):
        response = _error(_("Too many posts; try again in a minute."), 429)
        response["Retry-After"] = "60"
        return response
    data = _body(request)
    if isinstance(data, HttpResponse):
        return data
    payload = intake.flat_payload(data)
    if intake.is_builder_ping(source, payload):
        return HttpResponse("ok", content_type="text/plain")
    if source.honeypot_field and payload.get(source.honeypot_field):
        # Not naming the field: a bot must not learn which one gave it away.
        return _error(_("This post was not accepted."), 400)
    fields, errors = intake.clean_fields(intake.map_payload(source, payload), forgive_contacts=True)
    if errors:
        return JsonResponse(errors, status=400)
    fields["form_answers"] = intake.form_answers(source, payload)
    lead, created = services.lead_receive(source=source, fields=fields)
    if created and fields["form_answers"]:
        # After the lead is stored: the form's answers that fit a criterion pre-fill the
        # script; what does not fit stays in form_answers alone (stored with the lead).
        services.lead_prefill(lead=lead, answers=fields["form_answers"], now=lead.created_at)
    return JsonResponse(answer(lead), status=201 if created else 200)


def answer(lead: Lead) -> dict:
    """What the poster learns: the lead's id and callback times. Not duplicate_of: a public
    form's key must not tell whether a phone is already known."""
    return {
        "id": lead.pk,
        "state": lead.state,
        "warn_at": _moment(lead.warn_at),
        "breach_at": _moment(lead.breach_at),
    }


def _moment(value: datetime) -> str:
    # ISO 8601 in the site's zone, as DRF writes times for an anonymous caller. Named, not the
    # current zone: the shortcut skips the middleware that resets a thread's zone per request.
    text = timezone.localtime(value, timezone.get_default_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _body(request: HttpRequest) -> Mapping | HttpResponse:
    content_type = request.content_type
    if content_type != "application/json" and content_type not in FORM_TYPES:
        return _error(_("Send the fields as JSON or as a form."), 415)
    if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
        too_big = _read_chunked(request)
        if too_big:
            return too_big
    try:
        if content_type == "application/json":
            data = _json(request)
        elif content_type == FORM_TYPES[0] and not _utf8(request):
            # Django reads form-encoded bodies as UTF-8 only (BadRequest otherwise); an old
            # site's form posts in the charset it declares, windows-1251 for a Russian one.
            data = QueryDict(request.body, encoding=request.encoding)
        elif content_type == FORM_TYPES[0]:
            # Undeclared (or said to be UTF-8): Django would put U+FFFD for each byte that is
            # no UTF-8 and answer 201 with the name lost. An old Russian page's form sends
            # Windows-1251 without saying so: read it so when it is no UTF-8 and reads as it.
            charset = intake.form_charset(request.body)
            if charset is None:
                return _error(_("Send the form as UTF-8 (or declare its charset)."), 400)
            data = QueryDict(request.body, encoding=charset)
        elif not _utf8(request):
            data = request.POST
        else:
            data = _multipart(request)
            if data is None:
                return _error(_("Send the form as UTF-8 (or declare its charset)."), 400)
    except RequestDataTooBig:
        return _error(_("The body is too large."), 413)
    except RecursionError:  # nested deeper than the parser's stack; too_deep catches the rest
        return _too_deep()
    except LookupError:  # a declared charset Python knows but that is no text encoding (hex)
        return _error(_("Send the body as UTF-8 text."), 415)
    except ValueError:  # bad JSON, bytes that are not UTF-8 (or the declared charset)
        return _error(_("The body is not valid JSON."), 400)
    except MultiPartParserError:
        return _error(_("The form data is malformed."), 400)
    except SuspiciousOperation:  # more form fields or files than Django reads
        return _error(_("The form data has too many fields."), 400)
    except BadRequest:
        return _error(_("The form data is malformed."), 400)
    if content_type == "application/json" and intake.too_deep(data):
        return _too_deep()
    if not isinstance(data, Mapping):
        return _error(_("Send the fields as a JSON object or a form."), 400)
    return data


def _multipart(request: HttpRequest) -> QueryDict | None:
    """A multipart form without a charset: each part in UTF-8, or, where its bytes are no
    UTF-8 (Django would have put U+FFFD for them), in Windows-1251 if it reads as Russian text
    in it; None when a part reads in neither."""
    body = request.body  # kept in memory (at most the intake's limit): the parts may be read twice
    as_utf8 = request.POST
    if not any("\ufffd" in text for key, values in as_utf8.lists() for text in (key, *values)):
        return as_utf8
    handlers = [load_handler(path, request) for path in settings.FILE_UPLOAD_HANDLERS]
    parser = MultiPartParser(request.META, io.BytesIO(body), handlers, "windows-1251")
    as_cp1251 = parser.parse()[0]
    pairs = list(zip(as_utf8.lists(), as_cp1251.lists(), strict=False))
    if len(pairs) != len(as_utf8):
        return None
    data = QueryDict(mutable=True)
    for (key, values), (key_1251, values_1251) in pairs:
        if "\ufffd" in key or any("\ufffd" in value for value in values):
            if not all(map(intake.reads_as_russian, (key_1251, *values_1251))):
                return None
            key, values = key_1251, values_1251
        data.setlist(key, values)
    return data


def _too_deep() -> JsonResponse:
    return _error(
        _("The JSON is nested more than %(depth)d levels deep.") % {"depth": intake.MAX_JSON_DEPTH},
        400,
    )


def _json(request: HttpRequest) -> object:
    body = request.body or b"{}"
    # JSON is UTF-8 (json.loads also tells UTF-16/32 by their bytes); a body that declares
    # another charset (charset=windows-1251) is read in it.
    if not _utf8(request):
        return json.loads(body.decode(request.encoding or "utf-8"))
    return json.loads(body)


def _utf8(request: HttpRequest) -> bool:
    """Whether the body is UTF-8: no charset declared, or UTF-8 declared."""
    charset = request.encoding
    return not charset or charset.lower().replace("_", "-") in ("utf-8", "utf8")


def _read_chunked(request: HttpRequest) -> HttpResponse | None:
    """A chunked body (Transfer-Encoding: chunked) has no Content-Length, so Django reads it as
    empty. gunicorn marks such a stream as ending by itself (wsgi.input_terminated): read it
    here, up to the intake's limit, and hand it to the request as if its length had been sent."""
    limit = settings.INTAKE_MAX_BODY_BYTES
    body = request.META["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        return _error(_("The body is too large."), 413)
    # What HttpRequest.body itself keeps once read; the multipart parser reads the length.
    request._body, request._stream = body, io.BytesIO(body)
    request.META["CONTENT_LENGTH"] = str(len(body))
    return None


def _preflight(request: HttpRequest) -> HttpResponse:
    """The browser's preflight: allowed when some source lists the page's origin."""
    origin = request.headers.get("Origin", "")
    response = HttpResponse(status=204)
    if origin and any(s.allows_origin(origin) for s in LeadSource.objects.filter(active=True)):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, X-Intake-Key"
        response["Access-Control-Max-Age"] = "86400"
    response["Vary"] = "Origin"
    return response


def _with_cors(request: HttpRequest, source: LeadSource, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    if origin and source.allows_origin(origin):
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def _error(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


class IntakeShortcutMiddleware:
    """Answers the intake before the page middleware (sessions, CSRF, auth, messages, htmx,
    team time zone…), none of which a form post uses: the busiest endpoint then costs a
    third less CPU per post. Placed right after SecurityMiddleware; it does what the rest
    would have done for it: checks the Host header and picks the language of the answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != INTAKE_PATH:
            return self.get_response(request)
        request.get_host()  # DisallowedHost (400) for a host not in ALLOWED_HOSTS
        with translation.override(translation.get_language_from_request(request)):
            return intake_post(request)
