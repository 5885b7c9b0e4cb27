"""Reading and writing spreadsheets: CSV cells safe for Excel, and the workbooks and HTML
tables other CRMs export, read as rows of text."""

import csv
import io
from datetime import date, datetime
from html.parser import HTMLParser

FORMULA_FIRST = frozenset(("=", "+", "-", "@", "\t", "\r"))


def spreadsheet_safe(row: list, trusted: tuple[int, ...] = ()) -> list:
    """Cells a spreadsheet would run as a formula (=, +, -, @ first) are quoted as text: a
    web form's "name" must not become a formula on a manager's machine. `trusted` columns are
    ours (a phone we formatted as +7 …) and stay as they are."""
    if not trusted:  # most rows: half the time (a report's CSV writes ~10,000 of them)
        return [f"'{v}" if isinstance(v, str) and v[:1] in FORMULA_FIRST else v for v in row]
    return [
        v if i in trusted or not isinstance(v, str) else safe_cell(v) for i, v in enumerate(row)
    ]


def safe_cell(text: str) -> str:
    """One text cell as spreadsheet_safe writes it."""
    return f"'{text}" if text[:1] in FORMULA_FIRST else text


def _cell_text(value: object) -> str:
    """A workbook cell as the text a CSV export would hold: dates as dd.mm.yyyy hh:mm:ss (the
    Russian exports' own format), whole numbers without ".0" (a phone typed as a number)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xlsx_rows(raw: bytes) -> list[list[str]]:
    """The first sheet of an .xlsx workbook as rows of text. Raises ValueError when the bytes
    are not a workbook openpyxl can read."""
    import openpyxl  # imported here: only workbook uploads pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - zipfile, XML and openpyxl's own errors alike
        raise ValueError(str(error)) from None
    try:
        sheet = book.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


class _TableParser(HTMLParser):
    """The cells of the first <table> of an HTML page, <br> as a line break."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.tables = 0
        self.done = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if self.done:
            return
        if tag == "table":
            self.tables += 1
        elif tag == "tr" and self.tables:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.done = True

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.done:
            self.cell.append(" ".join(data.split()) if "\n" in data else data)


def looks_like_html(text: str) -> bool:
    head = text[:4096].lstrip().lower()
    return head.startswith("<") and "<table" in text[:65536].lower()


def html_table_rows(text: str) -> list[list[str]]:
    """The rows of the first table of an HTML page: Bitrix24's "Excel" export is such a page
    saved as .xls."""
    parser = _TableParser()
    parser.feed(text)
    parser.close()
    return [row for row in parser.rows if row]


def rows_to_csv(rows: list[list[str]], delimiter: str = ";") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()
