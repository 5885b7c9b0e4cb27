"""django-fsm-2's ConcurrentTransitionMixin, its state fields found once per model.

The library finds them among all of the model's fields on every instance it builds (to remember
the state it was read in): a sixth of building the queue page's fifty leads. The fields of a
model do not change while the process runs."""

from functools import cache

from django.db import models
from django_fsm import ConcurrentTransitionMixin as LibraryMixin
from django_fsm import FSMFieldMixin


class ConcurrentTransitionMixin(LibraryMixin):
    @property
    def state_fields(self) -> tuple[FSMFieldMixin, ...]:
        return _state_fields(type(self))


@cache
def _state_fields(model: type[models.Model]) -> tuple[FSMFieldMixin, ...]:
    return tuple(field for field in model._meta.fields if isinstance(field, FSMFieldMixin))
