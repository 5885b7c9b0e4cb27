"""The call script as a qualifier will see it, built from criteria as the admin is editing
them — saved or not — with the workspace's own form (`leads.forms.AnswersForm`)."""

from django.db.models import Prefetch

from leads.forms import AnswersForm
from leads.models import Criterion, CriterionOption


def saved_criteria() -> list[Criterion]:
    """The active criteria in the script's order, as the workspace reads them."""
    return list(
        Criterion.objects.filter(active=True).prefetch_related(
            Prefetch("options", queryset=CriterionOption.objects.order_by("order", "id"))
        )
    )


def with_draft(draft: Criterion, options: list[CriterionOption]) -> list[Criterion]:
    """The saved script with `draft` (unsaved edits of a criterion, or a new one) in its place:
    an inactive draft drops out, a new one goes last."""
    # The workspace reads options through the related manager; an unsaved criterion has none,
    # so the draft's options are given as if prefetched (a new draft gets a stand-in id).
    if draft.pk is None:
        draft.pk = 0
    # Django's private prefetch cache: not declared in the stubs.
    draft._prefetched_objects_cache = {"options": options}  # type: ignore[attr-defined]
    saved = saved_criteria()
    at = next((n for n, c in enumerate(saved) if c.pk == draft.pk), len(saved))
    criteria = [c for c in saved if c.pk != draft.pk]
    if draft.active:
        criteria.insert(at, draft)
    return criteria


def script_form(criteria: list[Criterion]) -> AnswersForm:
    return AnswersForm(criteria=criteria, answers={}, prefix="preview")
