"""Slugs people can read, made from Russian as well as English names.

Django's `slugify` drops every Cyrillic letter ("Тип кухни" → ""), so a criterion asked in
Russian got no slug. We transliterate first, in the common passport-style scheme (х → kh,
ц → ts, щ → shch, й → y, soft and hard signs dropped): "Тип кухни" → "tip-kukhni".
"""

from collections.abc import Callable
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

_RU = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "_",
            "y",
            "_",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)
_RU = {k: ("" if v == "_" else v) for k, v in _RU.items()}
# Ukrainian and Belarusian letters a Russian-speaking team still meets in names.
_RU.update({"і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u"})


def transliterate(text: str) -> str:
    """Latin letters for Cyrillic ones; everything else unchanged (case kept)."""
    out = []
    for char in text:
        latin = _RU.get(char.lower())
        if latin is None:
            out.append(char)
        elif char.isupper():
            out.append(latin.capitalize())
        else:
            out.append(latin)
    return "".join(out)


def slug_from(text: str, *, max_length: int = 50) -> str:
    """A URL-safe slug for any name: "Тип кухни" → "tip-kukhni", "Budget, ₽" → "budget"."""
    return slugify(transliterate(text))[:max_length].strip("-")


def unique_slug(
    text: str, taken: Callable[[str], bool], *, max_length: int = 50, fallback: str = "item"
) -> str:
    """`slug_from(text)`, with -2, -3… added while `taken(slug)` says another row has it."""
    base = slug_from(text, max_length=max_length) or fallback
    slug, n = base, 1
    while taken(slug):
        n += 1
        suffix = f"-{n}"
        slug = base[: max_length - len(suffix)].rstrip("-") + suffix
    return slug


class SlugFromNameAdmin:
    """A ModelAdmin mixin: the slug may be left empty and is made from `slug_source` on save
    (the browser's prepopulating script drops Cyrillic letters or spells them otherwise)."""

    slug_source = "name"

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)  # type: ignore[misc]
        if "slug" in form.base_fields:
            form.base_fields["slug"].required = False
            form.base_fields["slug"].help_text = _("Left empty, it is made from the name.")
        return form

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        if not obj.slug:
            model = type(obj)
            obj.slug = unique_slug(
                getattr(obj, self.slug_source),
                lambda s: model.objects.filter(slug=s).exclude(pk=obj.pk).exists(),
                max_length=model._meta.get_field("slug").max_length,
                fallback=model._meta.model_name,
            )
        super().save_model(request, obj, form, change)  # type: ignore[misc]
