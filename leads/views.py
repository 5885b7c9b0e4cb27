import hashlib
from datetime import datetime
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from crm import access, replica
from crm.access import page_for
from crm.lib.errors import Conflict
from crm.lib.http import AuthedRequest
from crm.lib.pages import act
from crm.lib.timeline import earlier, timeline_page
from crm.teams.models import Team
from crm.teams.selectors import landing_url_name
from leads import alerts, exports, priority, services
from leads.channels import duplicate_keys
from leads.filters import QueueFilter
from leads.forms import AnswersForm, AttemptForm, ContactForm, JunkForm, LeadEntryForm
from leads.models import (
    Answer,
    ContactAttempt,
    Criterion,
    CriterionOption,
    ExportJob,
    Lead,
)
from leads.selectors import (
    lead_get_for_user,
    leads_visible_to,
    open_count,
    open_duplicate_of,
    queue_teams,
    sla_now,
)


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    return redirect(landing_url_name(request.user))


@page_for(access.works_leads)
def queue(request: AuthedRequest) -> HttpResponse:
    """The qualifier's day: the team's open leads in the order to call them (leads/priority.py),
    kept live by a poll that costs nothing when nothing changed (204)."""
    now = timezone.now()
    visible = leads_visible_to(request.user)
    queue_filter = QueueFilter(request.GET, queryset=visible, request=request)
    # An unknown filter value shows the form's error and an empty list, never someone else's.
    leads = queue_filter.qs if queue_filter.is_valid() else visible.none()
    if not request.GET.get("state"):
        leads = leads.filter(priority.in_default_view(request.user))
    # The poll reads down to the last row the screen shows, so "Show more" is never undone.
    rows, next_cursor = priority.queue_page(
        leads,
        request.user,
        now,
        after=request.GET.get("after", ""),
        through=request.GET.get("through", ""),
    )
    count = open_count(leads)
    digest = _digest(rows, next_cursor, count, now)
    if request.htmx and request.GET.get("digest") == digest:
        return HttpResponse(status=204)
    alerts.attach_sla([row.lead for row in rows], now)  # the rows' SLA badges, one query
    context = {
        "filter": queue_filter,
        "filtered": any(queue_filter.data.get(name) for name in queue_filter.filters),
        "rows": rows,
        "next_cursor": next_cursor,
        "digest": digest,
        # The list's own address: its filters, without the poll's and the pager's parameters.
        "query": _without(request, "after", "through", "digest"),
        "open_count": count,
        "now": now,
    }
    template = "leads/queue.html"
    if request.htmx:
        # The poll and the filters need only the list; "show more" only its rows.
        template += "#more-rows" if request.GET.get("after") else "#queue-rows"
    return render(request, template, context)


def _without(request: AuthedRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _digest(rows: list[priority.Row], next_cursor: str, count: int, now: datetime) -> str:
    """What the list shows, in a few bytes: equal digests mean an identical list. The minute is
    in it for the "late"/"left" texts the server writes; the countdown ticks in the browser."""
    seen = [
        (row.rank, row.lead.pk, row.lead.state, row.lead.assignee_id, row.lead.temperature)
        for row in rows
    ]
    text = f"{seen}{next_cursor}{count}{now:%Y%m%d%H%M}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@page_for(access.heads_qualification)
def sla_board(request: AuthedRequest) -> HttpResponse:
    """ "SLA now": the leads in warning and in breach of the teams the user manages."""
    teams = list(access.managed_teams(request.user).filter(kind=Team.Kind.QUALIFICATION))
    context = {"groups": sla_now(teams, timezone.now()), "now": timezone.now(), "teams": teams}
    template = "leads/sla_now.html#sla-rows" if request.htmx else "leads/sla_now.html"
    return render(request, template, context)


@page_for(access.works_leads)
@require_POST
def take_next(request: AuthedRequest) -> HttpResponse:
    lead = services.lead_claim_next(user=request.user, teams=queue_teams(request.user))
    if lead is None:
        messages.info(request, _("The queue is empty: nobody is waiting for a call."))
        return redirect("leads:queue")
    return redirect("leads:detail", pk=lead.pk)


@page_for(access.works_leads)
def lead_create(request: AuthedRequest) -> HttpResponse:
    """Manual entry. A phone or e-mail matching an open lead asks once before saving, then
    links the new lead to it as a duplicate."""
    teams = queue_teams(request.user)
    form = LeadEntryForm(request.POST or None, teams=teams)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        duplicate = open_duplicate_of(data["team"], duplicate_keys(data["points"]))
        if duplicate is None or data["save_duplicate"]:
            lead = services.lead_create(
                team=data["team"],
                source=data["source"],
                name=data["name"],
                points=data["points"],
                company_name=data["company_name"],
                message="\n".join(filter(None, (data["message"], *data["notes"]))),
                by=request.user,
            )
            messages.success(request, _("Lead saved."))
            return redirect("leads:detail", pk=lead.pk)
        data = request.POST.copy()
        data["save_duplicate"] = "on"
        form.data = data
    # Bad input (another team's source included) is a 400; the duplicate's question is not.
    status = 400 if form.errors else 200
    return render(
        request, "leads/lead_form.html", {"form": form, "duplicate": duplicate}, status=status
    )


def _criteria() -> list[Criterion]:
    return list(
        Criterion.objects.filter(active=True).prefetch_related(
            Prefetch("options", queryset=CriterionOption.objects.order_by("order", "id"))
        )
    )


def _workspace(request: HttpRequest, lead: Lead, status: int = 200, **forms) -> HttpResponse:
    answers = {a.criterion_id: a for a in lead.answers.all()}
    answers_form: AnswersForm = forms.get("answers_form") or AnswersForm(
        criteria=_criteria(), answers={k: a.value for k, a in answers.items()}
    )
    for criterion_id, answer in answers.items():
        field = answers_form.fields.get(f"c{criterion_id}")
        if field is not None and answer.origin != Answer.Origin.QUALIFIER:
            # "from the form", beside the field: a note for the template on this form's field,
            # an attribute Django's Field does not declare.
            field.origin = answer.get_origin_display()  # type: ignore[attr-defined]
    context = {
        "lead": lead,
        "attempt_form": forms.get("attempt_form") or AttemptForm(),
        "junk_form": forms.get("junk_form") or JunkForm(),
        "contact_form": forms.get("contact_form")
        or ContactForm(initial=_contact_of(lead), points=[p.as_point() for p in lead.points.all()]),
        "answers_form": answers_form,
        "answers": sorted(answers.values(), key=lambda a: a.answered_at),
        "knocked_out": any(a.knocked_out for a in answers.values()),
        "blockers": {
            action: services.transition_blockers(lead, method)
            for action, method in (
                ("check", "mark_checked"),
                ("junk", "junk"),
                ("convert", "convert"),
            )
        },
        "attempts": lead.attempts.select_related("by"),
        **timeline(lead),
        "duplicates": lead.duplicates.all()[:10],
        "points": list(lead.points.all()),
        "now": timezone.now(),
    }
    if any(f.errors for f in forms.values() if f is not None):
        status = 400
    return render(request, "leads/lead_detail.html", context, status=status)


def _contact_of(lead: Lead) -> dict[str, str]:
    return {"name": lead.name, "company_name": lead.company_name}


def _timeline_of(lead: Lead) -> dict:
    """The lead's timeline for crm.lib.timeline: its events and the alerts raised on it."""
    return {
        "events": lead.events.select_related("actor", "reason", "attempt"),
        "earlier_route": "leads:timeline",
        "pk": lead.pk,
        "also": partial(alerts.raised_on_timeline, lead),
    }


def timeline(lead: Lead) -> dict:
    """The latest page of the lead's timeline."""
    return timeline_page(**_timeline_of(lead))


@login_required
def lead_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _workspace(request, lead_get_for_user(request.user, pk))


@login_required
def lead_timeline(request: AuthedRequest, pk: int) -> HttpResponse:
    """ "Earlier" on the lead's timeline: the page of events before the cursor."""
    lead = lead_get_for_user(request.user, pk)
    return earlier(request, **_timeline_of(lead))


def _act(request: AuthedRequest, lead: Lead, action, success: str, **forms) -> HttpResponse:
    """Run a service; a conflict or a rule it breaks is shown on the workspace, not lost."""
    form = next(iter(forms.values()), None)
    return act(
        request,
        action,
        done=success,
        back=reverse("leads:detail", args=[lead.pk]),
        page=lambda status: _workspace(request, lead, status=status, **forms),
        form=form,
    )


@login_required
@require_POST
def attempt_create(request: AuthedRequest, pk: int) -> HttpResponse:
    """Log a call; with "check too" ticked, a reached lead whose data are complete is checked
    in the same step (one click less per lead), and what still blocks it is said."""
    lead = lead_get_for_user(request.user, pk)
    form = AttemptForm(request.POST)
    if not form.is_valid():
        return _workspace(request, lead, attempt_form=form)
    data = form.cleaned_data
    logged: list[ContactAttempt] = []

    def log() -> None:
        logged.append(
            services.lead_attempt_log_by_hand(
                lead=lead,
                by=request.user,
                outcome=data["outcome"],
                duration_s=data["duration_s"] or 0,
                note=data["note"],
                callback_at=data["callback_at"],
            )
        )

    response = _act(request, lead, log, _("Call logged."), attempt_form=form)
    if logged and data["check"] and lead.state == Lead.State.NEW:
        _check_after_call(request, lead, data["outcome"])
    return response


def _check_after_call(request: AuthedRequest, lead: Lead, outcome: str) -> None:
    if outcome != ContactAttempt.Outcome.REACHED:
        messages.info(request, _("Not checked: only a call that reached the person checks."))
        return
    blockers = services.transition_blockers(lead, "mark_checked")
    if blockers:
        messages.warning(request, _("Not checked yet: %(why)s") % {"why": " ".join(blockers)})
        return
    try:
        services.lead_check(lead=lead, by=request.user)
    except Conflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Lead checked."))


@login_required
@require_POST
def contact_update(request: AuthedRequest, pk: int) -> HttpResponse:
    """The person's details corrected on the workspace (a one-word web-form name, a phone)."""
    lead = lead_get_for_user(request.user, pk)
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _workspace(request, lead, contact_form=form)
    return _act(
        request,
        lead,
        lambda: services.lead_contact_update(lead=lead, by=request.user, **form.changes()),
        _("Contact details saved."),
        contact_form=form,
    )


@login_required
@require_POST
def answer_save(request: AuthedRequest, pk: int) -> HttpResponse:
    """One answer, saved as it is picked (workspace.js posts each change): the answer is
    stored before the call is logged, so nothing typed in the script is lost. Returns the
    heading's badges with the new score; a bad value is a 400 with the reason as text."""
    lead = lead_get_for_user(request.user, pk)
    criteria = Criterion.objects.filter(active=True, pk=_int(request.POST.get("criterion")))
    criterion = criteria.prefetch_related("options").first()
    if criterion is None:
        return _refused(_("This question is no longer asked."))
    form = AnswersForm(
        {f"c{criterion.pk}": request.POST.get("value", "")}, criteria=[criterion], answers={}
    )
    if not form.is_valid():
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        return _refused(" ".join(str(e) for e in errors))
    try:
        for given, value in form.given():
            services.lead_answer(lead=lead, by=request.user, criterion=given, value=value)
    except Conflict as conflict:
        return _refused(str(conflict), status=409)
    except ValidationError as error:
        return _refused(" ".join(error.messages))
    knocked_out = lead.answers.filter(knocked_out=True).exists()
    return render(
        request,
        "leads/lead_detail.html#lead-badges",
        {"lead": lead, "knocked_out": knocked_out},
    )


def _refused(reason: str, status: int = 400) -> HttpResponse:
    """Plain text, which workspace.js shows beside the field (and does not retry)."""
    return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0


@login_required
@require_POST
def answers_save(request: AuthedRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    form = AnswersForm(request.POST, criteria=_criteria(), answers={})
    if not form.is_valid():
        return _workspace(request, lead, answers_form=form)

    def save_all() -> None:
        with transaction.atomic():  # all the script's answers, or none of them
            for criterion, value in form.given():
                services.lead_answer(lead=lead, by=request.user, criterion=criterion, value=value)

    return _act(request, lead, save_all, _("Answers saved."), answers_form=form)


@login_required
@require_POST
def check(request: AuthedRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    return _act(
        request,
        lead,
        lambda: services.lead_check(lead=lead, by=request.user),
        _("Lead checked."),
    )


@login_required
@require_POST
def junk(request: AuthedRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(request.user, pk)
    form = JunkForm(request.POST)
    if not form.is_valid():
        return _workspace(request, lead, junk_form=form)
    return _act(
        request,
        lead,
        lambda: services.lead_junk(
            lead=lead,
            by=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        ),
        _("Lead marked as junk."),
        junk_form=form,
    )


@page_for(access.works_leads)
@replica.reporting  # the count too reads off the primary when a replica is usable
def export_csv(request: AuthedRequest) -> HttpResponseBase:
    """The queue as filtered on the page, as CSV (leads/exports.py), streamed so a big list
    never sits in memory. A list longer than EXPORT_STREAM_MAX_ROWS is no download: the page's
    Export button makes it a job for a worker instead."""
    try:
        leads = exports.queue_leads(request.user, request.GET.dict())
    except exports.ExportError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    if leads.count() > settings.EXPORT_STREAM_MAX_ROWS:
        messages.error(request, _too_long())
        return redirect(reverse("leads:queue") + "?" + request.GET.urlencode())
    zone = timezone.get_current_timezone()
    lines = exports.stream(leads, zone, translation.get_language())
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="leads.csv"'
    return response


def _too_long() -> str:
    return _(
        "More than %(count)s leads: too many to download at once. Press Export to have the "
        "file prepared."
    ) % {"count": settings.EXPORT_STREAM_MAX_ROWS}


@page_for(access.works_leads)
@require_POST
def export_start(request: AuthedRequest) -> HttpResponse:
    """The queue's Export button: a short list downloads at once, a long one becomes a job
    whose progress the exports page shows."""
    filters = {name: request.POST.get(name, "") for name in QueueFilter.base_filters}
    try:
        leads = exports.queue_leads(request.user, filters)
    except exports.ExportError as error:
        messages.error(request, _("The export was not started: %(errors)s") % {"errors": error})
        return _go(request, reverse("leads:queue"))
    query = urlencode({name: value for name, value in filters.items() if value})
    if leads.count() <= settings.EXPORT_STREAM_MAX_ROWS:
        return _go(request, reverse("leads:export") + "?" + query)
    job = exports.export_job_start(
        request.user, filters, translation.get_language(), timezone.get_current_timezone_name()
    )
    return _go(request, reverse("leads:exports") + f"#export-{job.pk}")


def _go(request: AuthedRequest, url: str) -> HttpResponse:
    """A redirect, also for htmx's post (which would otherwise swap the answer into the page)."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@page_for(access.works_leads)
def export_list(request: AuthedRequest) -> HttpResponse:
    """My recent exports, the running ones kept live by a poll."""
    jobs = exports.exports_of(request.user)
    context = {"jobs": jobs, "keep_days": settings.EXPORT_KEEP_DAYS}
    return render(request, "leads/exports.html", context)


@page_for(access.works_leads)
def export_panel(request: AuthedRequest, pk: int) -> HttpResponse:
    job = _my_export(request, pk)
    return render(request, "leads/exports.html#export-panel", {"job": job})


@page_for(access.works_leads)
def export_download(request: AuthedRequest, pk: int) -> HttpResponseBase:
    """The job's file, to its requester (or an administrator) only; never cached
    (NoStoreMiddleware)."""
    job = _my_export(request, pk)
    if job.state != ExportJob.State.DONE or not job.file:
        raise Http404
    response = FileResponse(job.file.open("rb"), as_attachment=True, filename="leads.csv")
    response["Content-Type"] = "text/csv; charset=utf-8"
    return response


def _my_export(request: AuthedRequest, pk: int) -> ExportJob:
    try:
        return exports.export_job_for(request.user, pk)
    except ExportJob.DoesNotExist:
        raise Http404 from None
