"""Writes of the Settings pages. Each runs in one transaction; slugs left empty are made from
the name (`crm.lib.slugs`), and a slug taken at the same moment by someone else is reported on
the field rather than as an error page."""

from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.forms import BaseInlineFormSet, ModelForm
from django.utils.translation import gettext as _

from crm.lib.slugs import unique_slug
from crm.teams.models import Team
from crm.teams.selectors import forget_working_weeks
from leads.models import Answer, Criterion, CriterionOption, LeadSource, Mailbox, new_intake_key
from leads.selectors import forget_intake_sources
from setup.forms import BaseHoursFormSet, BaseOptionFormSet, SlugFromForm
from telephony.models import PbxConnection


class SlugTaken(Exception):
    """Another row took the slug between the check and the save."""


def fill_slug(form: SlugFromForm) -> None:
    """An empty slug made from the form's name field, unique in its table."""
    instance = form.instance
    if instance.slug:
        return
    model = type(instance)
    max_length = model._meta.get_field("slug").max_length
    instance.slug = unique_slug(
        form.cleaned_data.get(form.slug_source, ""),
        lambda s: model.objects.filter(slug=s).exclude(pk=instance.pk).exists(),
        max_length=max_length,
        fallback=model._meta.model_name,
    )


def _save(form: ModelForm) -> models.Model:
    try:
        with transaction.atomic():
            return form.save()
    except IntegrityError:
        form.add_error("slug", _("This slug was just taken by another entry: choose another."))
        raise SlugTaken from None


def entry_save(form: SlugFromForm) -> models.Model:
    """A junk or loss reason, or a source: a new one goes last in the list."""
    fill_slug(form)
    instance = form.instance
    if instance.pk is None and "order" in form.fields and not form.cleaned_data.get("order"):
        last = type(instance).objects.aggregate(m=Max("order"))["m"]
        instance.order = (last or 0) + 1
    return _save(form)


def criterion_save(form: SlugFromForm, options: BaseOptionFormSet) -> tuple[Criterion, int]:
    """The criterion and its options. An option removed while answers use it is archived
    instead (the script stops offering it; the answers keep their label and verdict); an
    unused one is deleted. Returns the criterion and how many options were archived."""
    fill_slug(form)
    criterion = form.instance
    if criterion.pk is None:
        last = Criterion.objects.aggregate(m=Max("order"))["m"]
        criterion.order = (last or 0) + 1
    archived = 0
    try:
        with transaction.atomic():
            form.save()
            options.instance = criterion
            kept = options.save(commit=False)
            for n, option in enumerate(kept):
                if option.order is None:
                    option.order = n
                option.criterion = criterion
                option.save()
            for option in options.deleted_objects:
                if Answer.objects.filter(criterion=criterion, value=option.value).exists():
                    CriterionOption.objects.filter(pk=option.pk).update(archived=True)
                    archived += 1
                else:
                    option.delete()
    except IntegrityError:
        form.add_error("slug", _("This slug was just taken by another entry: choose another."))
        raise SlugTaken from None
    return criterion, archived


def criterion_move(criterion: Criterion, step: int) -> None:
    """One place up (-1) or down (+1): the keyboard's way to reorder."""
    ids = list(Criterion.objects.order_by("order", "id").values_list("id", flat=True))
    at = ids.index(criterion.pk)
    to = max(0, min(len(ids) - 1, at + step))
    ids.insert(to, ids.pop(at))
    criteria_reorder(ids)


def criteria_reorder(ids: list[int]) -> None:
    """Number the criteria in the order given (the drag's result); criteria not named keep
    their relative order after them, so a stale page cannot lose one."""
    known = list(Criterion.objects.order_by("order", "id").values_list("id", flat=True))
    given = [pk for pk in dict.fromkeys(ids) if pk in set(known)]
    order = given + [pk for pk in known if pk not in set(given)]
    with transaction.atomic():
        for n, pk in enumerate(order, start=1):
            Criterion.objects.filter(pk=pk).exclude(order=n).update(order=n)


def source_rotate_key(source: LeadSource) -> LeadSource:
    """A new intake key; the old one stops at once here and within 30 s in other processes."""
    source.intake_key = new_intake_key()
    source.save(update_fields=["intake_key"])
    return source


def team_save(form: ModelForm, hours: BaseHoursFormSet) -> Team:
    """The team's clock and opening hours. New leads' deadlines follow at once in this process
    (the working-week and source caches are dropped), within a minute in the others."""
    with transaction.atomic():
        team = form.save()
        hours.instance = team
        hours.save()
    forget_working_weeks()
    forget_intake_sources()
    return team


def pbx_connection_save(form: ModelForm, extensions: BaseInlineFormSet) -> PbxConnection:
    """The connection and its extensions, together or not at all."""
    with transaction.atomic():
        connection = form.save()
        extensions.instance = connection
        extensions.save()
    return connection


# Where a poll resumes (the last UID and the folder's UIDVALIDITY) belongs to one folder of one
# account: another one is read from its start (letters already taken are known by Message-ID).
MAILBOX_PLACE = {"host", "port", "username", "folder"}


def mailbox_save(form: ModelForm) -> Mailbox:
    mailbox = form.instance
    if mailbox.pk and MAILBOX_PLACE & set(form.changed_data):
        mailbox.uidvalidity, mailbox.last_uid = None, 0
    with transaction.atomic():
        return form.save()
