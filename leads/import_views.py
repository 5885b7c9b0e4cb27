"""The import page (CSV, .xlsx, Bitrix24's HTML .xls), for admins and sales heads: upload,
map the columns, watch it run."""

import csv
import io
import itertools
from typing import TYPE_CHECKING, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from crm import access
from crm.lib.http import AuthedRequest
from crm.teams.models import Team
from leads.import_presets import MULTI_FIELDS, detect_preset
from leads.imports import (
    FIELDS,
    check_mapping,
    check_source,
    columns_of,
    guess_mapping,
    lead_import_step,
    open_file,
    sources_for,
)
from leads.models import LeadImport, LeadSource
from leads.prefill import CriteriaIndex

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


MAX_UPLOAD_BYTES = 50 * 1024 * 1024
FIELD_LABELS: dict[str, "StrOrPromise"] = {
    "name": _("Full name or first name"),
    "last_name": _("Surname"),
    "middle_name": _("Patronymic"),
    "phone": _("Phones (the first two are kept as phone and second phone, more in the message)"),
    "email": _("E-mails (the first is kept as the e-mail, more in the message)"),
    "company_name": _("Company"),
    "message": _("Message (several columns: each added with its title)"),
    "status": _("Status (junk is imported as junk, converted is refused)"),
    "created": _("Created (dd.mm.yyyy hh:mm:ss), kept as the lead's arrival"),
    "responsible": _("Responsible (a team member's full name or e-mail)"),
    "external_id": _("External id"),
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_content": "utm_content",
    "utm_term": "utm_term",
    "form_answers": _(
        "Form answers (each kept under its title; one named like a qualification criterion "
        "pre-fills its answer)"
    ),
}


def _import_teams(request: HttpRequest) -> QuerySet[Team]:
    """The teams the user may import into (those they manage); none: the 403 page."""
    teams = access.import_teams(request.user)
    access.require(teams.exists())
    return teams


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File: CSV, .xlsx, or Bitrix24's .xls"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.xls"}),
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    source = forms.ModelChoiceField(label=_("Source"), queryset=LeadSource.objects.none())

    def __init__(self, *args, teams: QuerySet[Team], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams
        cast(forms.ModelChoiceField, self.fields["source"]).queryset = sources_for(teams)

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("source") and data.get("team"):
            check_source(data["source"], data["team"])
        return data

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than 50 MB."))
        try:
            self.csv_file = open_file(upload.read())
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        return upload


class MappingForm(forms.Form):
    dry_run = forms.BooleanField(label=_("Dry run: check the rows, store nothing"), required=False)
    all_or_nothing = forms.BooleanField(
        label=_("All or nothing: store nothing if any row is bad (otherwise bad rows are skipped)"),
        required=False,
    )

    def __init__(self, *args, job: LeadImport, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(c, c) for c in job.header]
        for our_field in FIELDS:
            if our_field in MULTI_FIELDS:
                self.fields[f"map_{our_field}"] = forms.MultipleChoiceField(
                    label=FIELD_LABELS[our_field],
                    choices=choices[1:],
                    required=False,
                    initial=columns_of(job.mapping.get(our_field)),
                )
            else:
                self.fields[f"map_{our_field}"] = forms.ChoiceField(
                    label=FIELD_LABELS[our_field],
                    choices=choices,
                    required=False,
                    initial=job.mapping.get(our_field, ""),
                )
        self.header = job.header

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        self.mapping = {f: data[f"map_{f}"] for f in FIELDS if data.get(f"map_{f}")}
        check_mapping(self.mapping, self.header)
        return data


@login_required
def upload(request: AuthedRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None, teams=_import_teams(request))
    if request.method == "POST" and form.is_valid():
        csv_file = form.csv_file
        job = LeadImport.objects.create(
            created_by=request.user,
            team=form.cleaned_data["team"],
            source=form.cleaned_data["source"],
            file_name=form.cleaned_data["file"].name[:200],
            text=csv_file.text,
            encoding=csv_file.encoding,
            delimiter=csv_file.delimiter,
            header=csv_file.header,
            mapping=guess_mapping(csv_file.header),
            total_rows=csv_file.text.rstrip("\n").count("\n"),
        )
        return redirect("leads:import_job", pk=job.pk)
    # A refused file (a NUL, a workbook, a broken quote) or choice is a 400 with its error.
    status = 400 if form.errors else 200
    return render(request, "leads/import_upload.html", {"form": form}, status=status)


def _job_for(request: HttpRequest, pk: int) -> LeadImport:
    """An import job the user may open (crm/access.py `may_open_import`); else a 404."""
    job = LeadImport.objects.select_related("team", "source").filter(pk=pk).first()
    if job is None or not access.may_open_import(request.user, job):
        raise Http404
    return job


@login_required
def job(request: AuthedRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    if request.method == "POST" and "import_now" in request.POST:
        return _import_after_dry_run(job)
    form = MappingForm(request.POST or None, job=job)
    if request.method == "POST" and job.status == LeadImport.Status.READY and form.is_valid():
        job.start(
            mapping=form.mapping,
            dry_run=form.cleaned_data["dry_run"],
            all_or_nothing=form.cleaned_data["all_or_nothing"],
        )
        job.save()
        return redirect("leads:import_job", pk=job.pk)
    preview = _preview(job)
    preset = detect_preset(job.header)
    return render(
        request,
        "leads/import_job.html",
        {"job": job, "form": form, "preview": preview, "preset": preset, "columns": _columns(job)},
        status=400 if form.errors else 200,
    )


def _import_after_dry_run(job: LeadImport) -> HttpResponse:
    """After a dry run, the same file and mapping as a new import, waiting on its mapping page
    for Start (the dry run's report stays as it was)."""
    if job.status != LeadImport.Status.DONE or not job.dry_run:
        return redirect("leads:import_job", pk=job.pk)
    again = LeadImport.objects.create(
        created_by=job.created_by,
        team=job.team,
        source=job.source,
        file_name=job.file_name,
        text=job.text,
        encoding=job.encoding,
        delimiter=job.delimiter,
        header=job.header,
        mapping=job.mapping,
        total_rows=job.total_rows,
    )
    return redirect("leads:import_job", pk=again.pk)


def _columns(job: LeadImport) -> list[tuple[str, "StrOrPromise"]]:
    """Each column of the file and what it is imported as ("—": not imported): the dry run's
    per-column report."""
    feeds = {c: FIELD_LABELS[f] for f, v in job.mapping.items() for c in columns_of(v)}
    criteria = CriteriaIndex.active()
    for column in columns_of(job.mapping.get("form_answers")):
        criterion = criteria.criterion_for(column)
        if criterion is not None:
            feeds[column] = _("Pre-fills the answer: %(question)s") % {
                "question": criterion.question
            }
    return [(column, feeds.get(column, "—")) for column in job.header]


@login_required
@require_POST
def step(request: AuthedRequest, pk: int) -> HttpResponse:
    job = lead_import_step(_job_for(request, pk).pk)
    return render(request, "leads/import_job.html#progress", {"job": job, "columns": _columns(job)})


def _preview(job: LeadImport, size: int = 5) -> list[list[str]]:
    reader = csv.reader(io.StringIO(job.text), delimiter=job.delimiter)
    return list(itertools.islice(reader, 1, size + 1))
