"""Settings in the product: criteria and the live call script, junk and loss reasons, lead
sources with their intake keys, teams' SLA and working hours, their PBX connections and sales
mailboxes. Checks: `setup.access`."""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.lib.http import AuthedRequest
from deals.models import LossReason
from leads.models import Criterion, CriterionOption, JunkReason, LeadSource, Mailbox
from setup import access, services
from setup.channel_forms import (
    BaseExtensionFormSet,
    ExtensionFormSet,
    MailboxForm,
    PbxConnectionForm,
)
from setup.forms import (
    CriterionForm,
    JunkReasonForm,
    LossReasonForm,
    OptionFormSet,
    SourceForm,
    TeamForm,
    WorkingHoursFormSet,
)
from setup.preview import saved_criteria, script_form, with_draft
from telephony.models import PbxConnection

View = Callable[..., HttpResponse]


def settings_page(check: Callable[[Any], bool]) -> Callable[[View], View]:
    """Logged in, and allowed by `check` (setup.access), or 403."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


@settings_page(access.may_open_settings)
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "setup/index.html",
        {
            "shared_lists": access.may_edit_shared_lists(user),
            "criteria_count": Criterion.objects.filter(active=True).count(),
            "teams": access.managed_teams(user),
            "sources": access.editable_sources(user).select_related("team"),
            "channel_teams": access.channel_teams(user).exists(),
            "is_admin": access.is_admin(user),
        },
    )


# Criteria and the call script


def _criteria_context() -> dict[str, Any]:
    criteria = list(Criterion.objects.order_by("order", "id").prefetch_related("options"))
    return {"criteria": criteria, "preview": script_form(saved_criteria())}


@settings_page(access.may_edit_shared_lists)
def criteria(request: AuthedRequest) -> HttpResponse:
    template = "setup/criteria.html#criteria-section" if request.htmx else "setup/criteria.html"
    return render(request, template, _criteria_context())


@require_POST
@settings_page(access.may_edit_shared_lists)
def criterion_move(request: AuthedRequest, pk: int) -> HttpResponse:
    criterion = get_object_or_404(Criterion, pk=pk)
    step = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if step is None:
        return HttpResponseBadRequest(_("Say up or down."))
    services.criterion_move(criterion, step)
    if request.htmx:
        return render(request, "setup/criteria.html#criteria-section", _criteria_context())
    return redirect("setup:criteria")


@require_POST
@settings_page(access.may_edit_shared_lists)
def criteria_order(request: HttpRequest) -> HttpResponse:
    """The order after a drag: the criteria's ids, first to last."""
    try:
        ids = [int(pk) for pk in request.POST.getlist("order")]
    except ValueError:
        ids = []
    if not ids:
        return HttpResponseBadRequest(_("Send the criteria's ids in their new order."))
    services.criteria_reorder(ids)
    return render(request, "setup/criteria.html#criteria-section", _criteria_context())


def _criterion_forms(request: HttpRequest, criterion: Criterion) -> tuple[CriterionForm, Any]:
    data = request.POST if request.method == "POST" else None
    form = CriterionForm(data, instance=criterion)
    options = OptionFormSet(data, instance=criterion, prefix="options")
    options.kind = data.get("kind", "") if data is not None else criterion.kind
    return form, options


def _criterion_page(request: HttpRequest, criterion: Criterion) -> HttpResponse:
    form, options = _criterion_forms(request, criterion)
    if request.method == "POST" and form.is_valid() & options.is_valid():
        try:
            saved, archived = services.criterion_save(form, options)
        except services.SlugTaken:
            pass
        else:
            messages.success(request, _("Saved: “%(question)s”.") % {"question": saved.question})
            if archived:
                messages.info(
                    request,
                    _("%(n)s option(s) used by answers were archived rather than deleted.")
                    % {"n": archived},
                )
            return redirect("setup:criteria")
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "options": options,
        "criterion": criterion,
        "preview": _draft_preview(form, options),
    }
    return render(request, "setup/criterion.html", context, status=status)


def _draft_preview(form: CriterionForm, options: Any) -> Any:
    """The script with the form's values in place, even unsaved or refused ones."""
    draft = Criterion(**{f.name: getattr(form.instance, f.name) for f in Criterion._meta.fields})
    if form.is_bound:
        for name in ("question", "help_text", "kind", "active"):
            field = form[name]
            value = field.field.to_python(field.data) if name == "active" else field.data
            setattr(draft, name, value if value is not None else "")
    rows = []
    for n, option in enumerate(options.forms):
        if form.is_bound:
            label = (option["label"].data or "").strip()
            gone = option["DELETE"].data or option["archived"].data
        else:
            label, gone = option.instance.label, option.instance.archived
        if label and not gone:
            value = (option["value"].data if form.is_bound else option.instance.value) or f"o{n}"
            rows.append(CriterionOption(value=value, label=label))
    return script_form(with_draft(draft, rows))


@settings_page(access.may_edit_shared_lists)
def criterion_add(request: HttpRequest) -> HttpResponse:
    return _criterion_page(request, Criterion(kind=Criterion.Kind.CHOICE))


@settings_page(access.may_edit_shared_lists)
def criterion_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _criterion_page(request, get_object_or_404(Criterion, pk=pk))


@require_POST
@settings_page(access.may_edit_shared_lists)
def criterion_preview(request: HttpRequest) -> HttpResponse:
    """The live preview while the criterion's form is being filled in (htmx)."""
    pk = request.POST.get("criterion_id", "")
    criterion = Criterion.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
    form, options = _criterion_forms(request, criterion or Criterion())
    return render(
        request, "setup/criterion.html#script-preview", {"preview": _draft_preview(form, options)}
    )


# Junk and loss reasons

REASONS = {
    "junk": (JunkReason, JunkReasonForm),
    "loss": (LossReason, LossReasonForm),
}


@settings_page(access.may_edit_shared_lists)
def reasons(request: HttpRequest) -> HttpResponse:
    lists = [
        ("junk", _("Junk reasons"), JunkReason.objects.all()),
        ("loss", _("Loss reasons"), LossReason.objects.all()),
    ]
    return render(request, "setup/reasons.html", {"lists": lists})


@settings_page(access.may_edit_shared_lists)
def reason_edit(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    if kind not in REASONS:
        raise Http404
    model, form_class = REASONS[kind]
    reason = get_object_or_404(model, pk=pk) if pk else model()
    form = form_class(request.POST if request.method == "POST" else None, instance=reason)
    if request.method == "POST" and form.is_valid():
        try:
            # The form's model: a junk or loss reason (REASONS).
            saved = cast(JunkReason | LossReason, services.entry_save(form))
        except services.SlugTaken:
            pass
        else:
            messages.success(request, _("Saved: “%(name)s”.") % {"name": saved.name})
            return redirect("setup:reasons")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "setup/reason.html", {"form": form, "kind": kind, "reason": reason}, status=status
    )


# Lead sources


def _intake_url(source: LeadSource) -> str:
    return f"{settings.SITE_URL}{reverse('api:intake')}?key={source.intake_key}"


@settings_page(access.may_open_settings)
def sources(request: HttpRequest) -> HttpResponse:
    rows = access.editable_sources(request.user).select_related("team")
    return render(
        request,
        "setup/sources.html",
        {"sources": rows, "may_add": _may_add_source(request.user)},
    )


def _source_page(request: HttpRequest, source: LeadSource) -> HttpResponse:
    user = request.user
    form = SourceForm(
        request.POST if request.method == "POST" else None,
        instance=source,
        teams=access.source_teams(user),
        team_required=not access.is_admin(user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = cast(LeadSource, services.entry_save(form))  # a SourceForm's
        except services.SlugTaken:
            pass
        else:
            messages.success(request, _("Saved: “%(name)s”.") % {"name": saved.name})
            return redirect("setup:source_edit", pk=saved.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "source": source,
        "intake_url": _intake_url(source) if source.pk else "",
    }
    return render(request, "setup/source.html", context, status=status)


def _may_add_source(user: Any) -> bool:
    return access.is_admin(user) or access.source_teams(user).exists()


@settings_page(access.may_open_settings)
def source_add(request: HttpRequest) -> HttpResponse:
    if not _may_add_source(request.user):
        raise PermissionDenied
    return _source_page(request, LeadSource())


@settings_page(access.may_open_settings)
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _source_page(request, get_object_or_404(access.editable_sources(request.user), pk=pk))


@require_POST
@settings_page(access.may_open_settings)
def source_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(access.editable_sources(request.user), pk=pk)
    services.source_rotate_key(source)
    messages.success(
        request, _("New key issued; the old one stops working. Paste the new URL into the form.")
    )
    return redirect("setup:source_edit", pk=source.pk)


# Teams


@settings_page(access.may_open_settings)
def teams(request: HttpRequest) -> HttpResponse:
    rows = access.managed_teams(request.user).prefetch_related("working_hours")
    return render(request, "setup/teams.html", {"teams": rows})


@settings_page(access.may_open_settings)
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(access.managed_teams(request.user), pk=pk)
    data = request.POST if request.method == "POST" else None
    form = TeamForm(data, instance=team)
    hours = WorkingHoursFormSet(data, instance=team, prefix="hours")
    if request.method == "POST" and form.is_valid() & hours.is_valid():
        services.team_save(form, hours)
        messages.success(request, _("Saved: “%(name)s”.") % {"name": team.name})
        return redirect("setup:team_edit", pk=team.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "setup/team.html", {"form": form, "hours": hours, "team": team}, status=status
    )


# A team's channels: its PBX connections and its sales mailboxes


def pbx_address(connection: PbxConnection) -> str:
    """The address to give the PBX for its events (README, "Telephony"): Mango appends
    `events/<kind>` to the one it is given."""
    key = connection.url_key
    if connection.provider == PbxConnection.Provider.MANGO:
        path = reverse("telephony:mango", kwargs={"key": key, "kind": "call"})
        path = path.removesuffix("events/call")
    else:
        path = reverse(f"telephony:{connection.provider}", kwargs={"key": key})
    return f"{settings.SITE_URL}{path}"


@settings_page(access.may_open_settings)
def pbx_connections(request: AuthedRequest) -> HttpResponse:
    rows = access.editable_pbx_connections(request.user).select_related("team")
    context = {
        "connections": rows.prefetch_related("extensions").order_by("team__name", "pk"),
        "may_add": access.channel_teams(request.user).exists(),
    }
    return render(request, "setup/pbx_connections.html", context)


def _pbx_page(request: AuthedRequest, connection: PbxConnection) -> HttpResponse:
    teams = access.channel_teams(request.user)
    data = request.POST if request.method == "POST" else None
    form = PbxConnectionForm(data, instance=connection, teams=teams)
    people = User.objects.filter(teams__in=teams, is_active=True).distinct().order_by("username")
    extensions = cast(
        BaseExtensionFormSet,
        ExtensionFormSet(data, instance=connection, prefix="ext", people=people),
    )
    if request.method == "POST":
        valid = form.is_valid()
        extensions.team = form.cleaned_data.get("team")
        if extensions.is_valid() and valid:
            saved = services.pbx_connection_save(form, extensions)
            messages.success(request, _("Saved: “%(name)s”.") % {"name": saved})
            return redirect("setup:pbx_edit", pk=saved.pk)
    context = {
        "form": form,
        "extensions": extensions,
        "connection": connection,
        "address": pbx_address(connection) if connection.pk else "",
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "setup/pbx_connection.html", context, status=status)


@settings_page(access.may_open_settings)
def pbx_add(request: AuthedRequest) -> HttpResponse:
    if not access.channel_teams(request.user).exists():
        raise PermissionDenied
    return _pbx_page(request, PbxConnection())


@settings_page(access.may_open_settings)
def pbx_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    connections = access.editable_pbx_connections(request.user)
    return _pbx_page(request, get_object_or_404(connections, pk=pk))


@settings_page(access.may_open_settings)
def mailboxes(request: AuthedRequest) -> HttpResponse:
    rows = access.editable_mailboxes(request.user).select_related("team", "source")
    context = {"mailboxes": rows, "may_add": access.channel_teams(request.user).exists()}
    return render(request, "setup/mailboxes.html", context)


def _mailbox_page(request: AuthedRequest, mailbox: Mailbox) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = MailboxForm(data, instance=mailbox, teams=access.channel_teams(request.user))
    if request.method == "POST" and form.is_valid():
        saved = services.mailbox_save(form)
        messages.success(request, _("Saved: “%(name)s”.") % {"name": saved})
        return redirect("setup:mailbox_edit", pk=saved.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "mailbox": mailbox}
    return render(request, "setup/mailbox.html", context, status=status)


@settings_page(access.may_open_settings)
def mailbox_add(request: AuthedRequest) -> HttpResponse:
    if not access.channel_teams(request.user).exists():
        raise PermissionDenied
    return _mailbox_page(request, Mailbox())


@settings_page(access.may_open_settings)
def mailbox_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(access.editable_mailboxes(request.user), pk=pk)
    return _mailbox_page(request, mailbox)
