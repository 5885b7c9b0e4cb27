from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.lib.slugs import SlugFromNameAdmin
from leads.models import (
    Answer,
    ContactAttempt,
    Criterion,
    CriterionOption,
    JunkReason,
    Lead,
    LeadContactPoint,
    LeadEvent,
    LeadSource,
    Mailbox,
    MailLetter,
    new_intake_key,
)


@admin.register(LeadSource)
class LeadSourceAdmin(SlugFromNameAdmin, admin.ModelAdmin):
    list_display = ["name", "slug", "channel", "team", "preset", "active"]
    list_filter = ["channel", "preset", "active"]
    readonly_fields = ["intake_key", "intake_url"]
    actions = ["rotate_intake_key"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "channel", "team", "active"]}),
        (
            _("Intake"),
            {
                "fields": [
                    "intake_url",
                    "intake_key",
                    "preset",
                    "field_map",
                    "honeypot_field",
                    "allowed_origins",
                    "rate_limit_per_minute",
                ]
            },
        ),
    ]

    @admin.display(description=_("webhook URL"))
    def intake_url(self, source: LeadSource) -> str:
        if not source.pk:
            return "—"
        return f"{settings.SITE_URL}{reverse('api:intake')}?key={source.intake_key}"

    @admin.action(description=_("Rotate the intake key (the old one stops working)"))
    def rotate_intake_key(self, request: HttpRequest, queryset: QuerySet[LeadSource]) -> None:
        for source in queryset:
            source.intake_key = new_intake_key()
            source.save(update_fields=["intake_key"])
        self.message_user(request, _("New keys issued: update the forms that post here."))


@admin.register(JunkReason)
class JunkReasonAdmin(SlugFromNameAdmin, admin.ModelAdmin):
    list_display = ["name", "slug", "order", "active"]
    list_editable = ["order", "active"]


class CriterionOptionInline(admin.TabularInline):
    model = CriterionOption
    extra = 1


@admin.register(Criterion)
class CriterionAdmin(SlugFromNameAdmin, admin.ModelAdmin):
    slug_source = "question"
    list_display = ["question", "kind", "required", "knock_out", "weight", "order", "active"]
    list_editable = ["order", "active"]
    list_filter = ["kind", "active", "knock_out"]
    inlines = [CriterionOptionInline]
    fieldsets = [
        (None, {"fields": ["question", "slug", "help_text", "kind", "order", "active"]}),
        (None, {"fields": ["required", "knock_out", "weight"]}),
        (None, {"fields": ["good_answer_yes", "min_value", "max_value"]}),
        (None, {"fields": ["form_names"]}),
    ]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AttemptInline(ReadOnlyInline):
    model = ContactAttempt


class AnswerInline(ReadOnlyInline):
    model = Answer
    exclude = ["criterion"]


class PointInline(ReadOnlyInline):
    model = LeadContactPoint


class EventInline(ReadOnlyInline):
    model = LeadEvent
    exclude = ["attempt"]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Read-only: a lead changes only through its services, which keep the timeline."""

    list_display = ["id", "name", "team", "source", "state", "temperature", "created_at"]
    list_filter = ["state", "temperature", "team", "source"]
    search_fields = ["name", "phone", "email"]
    show_full_result_count = False
    inlines = [PointInline, AnswerInline, AttemptInline, EventInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MailboxForm(forms.ModelForm):
    """The password is written, never shown back: left empty, the stored one stays."""

    password = forms.CharField(
        label=_("password"), widget=forms.PasswordInput(render_value=False), required=False
    )

    class Meta:
        model = Mailbox
        fields = ["team", "source", "host", "port", "security", "username", "password"]
        fields += ["folder", "enabled"]

    def clean_password(self) -> str:
        password = self.cleaned_data["password"] or self.instance.password
        if not password:
            raise forms.ValidationError(_("Enter the mailbox's password."))
        return password


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["__str__", "team", "source", "enabled", "last_polled_at", "last_taken"]
    list_display += ["last_error"]
    list_filter = ["enabled", "team"]
    readonly_fields = ["uidvalidity", "last_uid", "last_polled_at", "last_taken", "last_error"]


@admin.register(MailLetter)
class MailLetterAdmin(admin.ModelAdmin):
    """What became of each letter; the ones that could not be read, with their raw text, are
    the head's to look at (filter by outcome)."""

    list_display = ["received_at", "mailbox", "sender", "subject", "outcome", "lead", "problem"]
    list_filter = ["outcome", "mailbox"]
    search_fields = ["sender", "subject", "message_id"]
    readonly_fields = ["raw_text"]
    exclude = ["raw"]

    @admin.display(description=_("raw letter"))
    def raw_text(self, letter: MailLetter) -> str:
        return bytes(letter.raw).decode("utf-8", "replace")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
