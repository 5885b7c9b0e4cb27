"""Every route of the URL conf, with the object of team A its URL needs."""

from django.urls import URLPattern, URLResolver, get_resolver


def named_routes() -> dict[str, URLPattern]:
    """namespace:name → pattern, for the project's own routes (the admin is one entry)."""
    found: dict[str, URLPattern] = {}

    def walk(patterns, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":
                    found["admin:*"] = entry
                    continue
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, inner)
            elif entry.name:
                found[f"{namespace}{entry.name}"] = entry

    walk(get_resolver().url_patterns, "")
    return found
