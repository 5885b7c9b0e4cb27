"""A bench-only prototype of the proposed intake fast path, to measure what the proposals in
the intake benchmark report would reach; served by gunicorn as `bench.intake_fast:application`
(`bench/intake_bench.py --app bench.intake_fast:application`). Not used by the application.

Same contract as POST /api/v1/intake/ (X-Intake-Key or ?key=, JSON or form body, 201 with
{id, state, warn_at, breach_at}, 200 with the stored lead for a repeated
external_id, 400/401/403/413/429 as the app), and the same rules through the app's own pure
functions (leads.intake.map_payload / clean_fields, leads.api.flat_payload, leads.sla.deadlines
on crm.teams.selectors.working_week). What differs is only how it is executed:

1. A plain Django view: no DRF (no APIView dispatch, no ModelSerializer built per response),
   and only SecurityMiddleware + CommonMiddleware (the page middleware -- sessions, locale,
   CSRF, auth, messages, clickjacking, htmx, team time zone -- is not run for intake).
2. The LeadSource (with its team) is looked up once per key per process and kept 60 s, like
   working_week: no SELECT per post.
3. The rate limit is one Redis round trip (a pipeline: INCR + EXPIRE NX) on one client per
   process, instead of ADD + EXISTS + INCRBY with a new redis.Redis built for each.
4. The write is ONE SQL statement in autocommit (no BEGIN/COMMIT round trips): a CTE that
   finds the team's open duplicate (the predicate and order of selectors.open_duplicate_of),
   INSERTs the lead with ON CONFLICT on lead_external_id_once_per_source (idempotency without
   the SELECT first), and INSERTs its LeadEvent and its two Deadline rows from the inserted
   row. A repeat (conflict) then reads the stored lead (one more SELECT, repeats only).
5. CONN_HEALTH_CHECKS off (no SELECT 1 per request).

BENCH_FAST_WRITE=orm keeps 1-3 and 5 but stores through the app's own
services.lead_receive (the ORM path), to separate the HTTP-side savings from the write-side.
"""

import os
import time

os.environ["DJANGO_SETTINGS_MODULE"] = __name__

from crm.settings import *  # noqa: E402,F401,F403
from crm.settings import DATABASES  # noqa: E402

DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = __name__

_SOURCE_TTL_S = 60.0
_sources: dict[str, tuple[float, object]] = {}
_redis = None
_sql = None


def _source(key: str):
    from leads.models import LeadSource

    cached = _sources.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    source = LeadSource.objects.filter(intake_key=key, active=True).select_related("team").first()
    _sources[key] = (time.monotonic() + _SOURCE_TTL_S, source)
    return source


def _rate_limited(key: str, limit: int, window_s: int = 60) -> bool:
    global _redis
    url = os.environ.get("REDIS_URL", "")
    if not url:
        from crm.lib.ratelimit import rate_limited

        return rate_limited(key, limit, window_s)
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(url)
    bucket = f"ratelimit:{key}:{int(time.time() // window_s)}"
    pipe = _redis.pipeline(transaction=False)
    pipe.incr(bucket)
    pipe.expire(bucket, window_s * 2, nx=True)
    hits, _ = pipe.execute()
    return hits > limit


def _insert_sql() -> tuple[str, list[str]]:
    """The one statement: dedup + lead + event + deadlines (built from the models, so it
    writes the same columns as the ORM)."""
    from leads.models import Deadline, Lead, LeadEvent

    def columns(model):
        return [f for f in model._meta.concrete_fields if not f.primary_key]

    lead_fields = columns(Lead)
    lead_cols = [f.column for f in lead_fields]
    lead_vals = [
        "(SELECT id FROM dup)" if f.attname == "duplicate_of_id" else f"%({f.attname})s"
        for f in lead_fields
    ]
    # Nullable columns left out are NULL, as the ORM writes them for these rows.
    event_fields = [f for f in columns(LeadEvent) if not f.null]
    event_vals = {
        "lead_id": "ins.id",
        "at": "ins.created_at",
        "kind": "'created'",
    }
    event_select = [event_vals.get(f.attname, f"%(event_{f.attname})s") for f in event_fields]
    deadline_cols = [f.column for f in columns(Deadline) if not f.null]
    if deadline_cols != ["lead_id", "kind", "due_at"]:
        raise RuntimeError(
            f"Deadline has grown columns this prototype does not fill: {deadline_cols}"
        )

    sql = f"""
WITH dup AS (
    SELECT id FROM leads_lead
    WHERE ((%(phone)s <> '' AND phone = %(phone)s) OR (%(email)s <> '' AND email = %(email)s))
      AND team_id = %(team_id)s AND state IN ('new', 'checked')
    ORDER BY created_at, id LIMIT 1
), ins AS (
    INSERT INTO leads_lead ({", ".join(lead_cols)}) VALUES ({", ".join(lead_vals)})
    ON CONFLICT (source_id, external_id) WHERE NOT (external_id = '') DO NOTHING
    RETURNING id, state, warn_at, breach_at, duplicate_of_id, created_at
), ev AS (
    INSERT INTO leads_leadevent ({", ".join(f.column for f in event_fields)})
    SELECT {", ".join(event_select)} FROM ins
), dl AS (
    INSERT INTO leads_deadline (lead_id, kind, due_at)
    SELECT ins.id, d.kind, CASE d.kind WHEN 'warn' THEN ins.warn_at ELSE ins.breach_at END
    FROM ins CROSS JOIN (VALUES ('warn'), ('breach')) AS d (kind)
)
SELECT id, state, warn_at, breach_at, duplicate_of_id FROM ins"""
    defaults = {}
    for f in lead_fields:
        if f.has_default():
            defaults[f.attname] = f.get_default()
        elif f.null:
            defaults[f.attname] = None
        else:
            defaults[f.attname] = ""
    for f in event_fields:
        if f.attname not in event_vals:
            defaults[f"event_{f.attname}"] = f.get_default() if f.has_default() else ""
    return sql, defaults


def _iso(value):
    from django.utils import timezone

    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _store(source, fields: dict) -> tuple[tuple, int]:
    """The one-statement write: (id, state, warn_at, breach_at, duplicate_of_id), status."""
    from django.db import connection
    from django.utils import timezone

    from crm.teams.selectors import working_week
    from leads import sla

    global _sql
    now = timezone.now()
    team = source.team
    warn_at, breach_at = sla.deadlines(now, team, working_week(team))
    if _sql is None:
        _sql = _insert_sql()
    sql, defaults = _sql
    params = {
        **defaults,
        **{k: v for k, v in fields.items() if k in defaults},
        "team_id": team.pk,
        "source_id": source.pk,
        "created_at": now,
        "warn_at": warn_at,
        "breach_at": breach_at,
        "due_at": breach_at,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is not None:
            return row, 201
        # A repeat of (source, external_id): the stored lead, 200.
        cursor.execute(
            "SELECT id, state, warn_at, breach_at, duplicate_of_id FROM leads_lead"
            " WHERE source_id = %s AND external_id = %s",
            [source.pk, fields["external_id"]],
        )
        return cursor.fetchone(), 200


def intake(request):
    import json

    from django.conf import settings
    from django.http import JsonResponse

    from crm.lib.ratelimit import client_address
    from leads import intake as rules
    from leads.api import flat_payload

    if request.method != "POST":
        return JsonResponse({"detail": "Method not allowed."}, status=405)
    key = request.headers.get("X-Intake-Key") or request.GET.get("key", "")
    if not key:
        return JsonResponse({"detail": "Send the intake key."}, status=401)
    source = _source(key)
    if source is None or source.team is None:
        return JsonResponse({"detail": "This intake key is unknown or disabled."}, status=403)
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.INTAKE_MAX_BODY_BYTES:
        return JsonResponse({"detail": "The body is too large."}, status=413)
    if _rate_limited(f"intake:{source.pk}:{client_address(request)}", source.rate_limit_per_minute):
        response = JsonResponse({"detail": "Too many posts."}, status=429)
        response["Retry-After"] = "60"
        return response
    try:
        if request.content_type == "application/json":
            data = json.loads(request.body or b"{}")
        else:
            data = request.POST
    except ValueError:
        return JsonResponse({"detail": "Malformed JSON."}, status=400)
    if not hasattr(data, "items"):
        return JsonResponse({"detail": "Send the fields as a JSON object or a form."}, status=400)
    payload = flat_payload(data)
    if rules.is_builder_ping(source, payload):
        return JsonResponse("ok", safe=False)
    if source.honeypot_field and payload.get(source.honeypot_field):
        return JsonResponse({source.honeypot_field: ["This field must be left empty."]}, status=400)
    fields, errors = rules.clean_fields(rules.map_payload(source, payload))
    if errors:
        return JsonResponse(errors, status=400)

    if os.environ.get("BENCH_FAST_WRITE") == "orm":
        # Variant: the app's own service (ORM: external_id SELECT, dedup SELECT, BEGIN, three
        # INSERTs, COMMIT), only the HTTP side made lean.
        from leads.services import lead_receive

        lead, created = lead_receive(source=source, fields=fields)
        row = (lead.pk, lead.state, lead.warn_at, lead.breach_at, lead.duplicate_of_id)
        status = 201 if created else 200
    else:
        row, status = _store(source, fields)
    lead_id, state, warn, breach, _duplicate_of = row
    response = JsonResponse(
        {
            "id": lead_id,
            "state": state,
            "warn_at": _iso(warn),
            "breach_at": _iso(breach),
        },
        status=status,
    )
    origin = request.headers.get("Origin", "")
    if origin and source.allows_origin(origin):
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def _csrf_exempt(view):
    view.csrf_exempt = True
    return view


from django.urls import path  # noqa: E402 (needs no app registry)

urlpatterns = [path("api/v1/intake/", _csrf_exempt(intake))]

_handler = None
_handler_lock = __import__("threading").Lock()


def application(environ, start_response):
    global _handler
    if _handler is None:
        with _handler_lock:  # gthread: the first requests arrive together
            if _handler is None:
                from django.core.wsgi import get_wsgi_application

                _handler = get_wsgi_application()
    return _handler(environ, start_response)
