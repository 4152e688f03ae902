"""Formatting of proportions and intervals on the Turing pages, and a class label in the visitor's language."""
from django import template

from cansite.i18n import label_name

register = template.Library()
register.filter("label_name", label_name)  # {{ image.label|label_name }}: "흑색종" for "melanoma" in Korean


@register.filter
def pct(value, digits: int = 1) -> str:
    """0.482 -> '48.2%'; None -> '–'."""
    return "–" if value is None else f"{100 * value:.{digits}f}%"


@register.filter
def ci(pair) -> str:
    """(0.471, 0.492) -> '[47.1, 49.2]'."""
    if not pair or pair[0] is None:
        return ""
    return f"[{100 * pair[0]:.1f}, {100 * pair[1]:.1f}]"


@register.filter
def num(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


@register.filter
def pvalue(value) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
