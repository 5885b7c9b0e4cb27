import re

from django.template import Context, Template
from django.utils import translation


def test_chart_coordinates_stay_numbers_in_russian():
    """Russian writes 12,5; an SVG attribute needs 12.5 or the point is not drawn."""
    template = Template("{% load charts %}{% line points %}{% bars items %}")
    with translation.override("ru"):
        html = template.render(
            Context(
                {
                    "points": [("w1", 1), ("w2", 3), ("w3", 2), ("w4", 2)],
                    "items": [("a", 1), ("b", 3)],
                }
            )
        )
    assert 'cx="160.0"' in html and 'cy="10.0"' in html
    assert not re.search(r'(cx|cy|width)="[^"]*,', html)
    assert 'width="33"' in html


def test_bars_and_rows_escape_what_they_show():
    """The bars and the table rows are written in Python: a source named like markup is shown
    as text, as `{{ }}` shows it."""
    from reports.formatting import COUNT, UP
    from reports.presentation import Row

    html = Template("{% load charts %}{% bars items %}{% figure_rows rows %}").render(
        Context(
            {
                "items": [("<b>Fair</b>", 2)],
                "rows": [Row('Leads "in"', "leads", COUNT, UP, 1234, 1000)],
            }
        )
    )
    assert "<b>" not in html and "&lt;b&gt;Fair&lt;/b&gt;" in html
    assert "<th>Leads &quot;in&quot;</th>" in html
    assert '<td class="now">1,234 <span class="change good" aria-hidden="true">▲</span>' in html
    assert '<span class="sr-only">up, better</span></td><td class="before">1,000</td>' in html
