def spreadsheet_safe(row: list, trusted: tuple[int, ...] = ()) -> list:
    """Cells a spreadsheet would run as a formula (=, +, -, @ first) are quoted as text: a
    web form's "name" must not become a formula on a manager's machine. `trusted` columns are
    ours (a phone we formatted as +7 …) and stay as they are."""
    return [
        f"'{v}"
        if i not in trusted and isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r")
        else v
        for i, v in enumerate(row)
    ]
