"""{% load galleries %}{% images_shown record as shown %}: whether this visitor may see the record's
image (datasets/galleries.py); the hidden datasets are read once per page."""
from django import template

from datasets.galleries import hidden_dataset_ids
from datasets.galleries import images_shown as shown_to

register = template.Library()
KEY = "datasets.hidden_dataset_ids"


@register.simple_tag(takes_context=True)
def images_shown(context, record) -> bool:
    user = context.get("user")
    if getattr(user, "is_staff", False):
        return True
    if KEY not in context.render_context:
        context.render_context[KEY] = hidden_dataset_ids()
    return shown_to(user, record.dataset_id, context.render_context[KEY])
