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
