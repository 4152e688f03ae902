"""{% load seeds %}: the run page's list of seed publications (templates/seeds/run_publications.html)."""
from django import template

from seeds.selectors import run_publications as publications_of

register = template.Library()


@register.simple_tag
def run_publications(run):
    rows = publications_of(run)
    return {"rows": rows, "any_done": any(p.status == "done" for p in rows)}
