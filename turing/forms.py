"""The consent step and the optional profile."""
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Profile


class ConsentForm(forms.Form):
    consent = forms.BooleanField(label=_("I have read this and agree to take part."),
                                 error_messages={"required": _("Please tick the box to agree before you start.")})
    profile = forms.ChoiceField(label=_("You are (optional)"), required=False,
                                choices=[("", _("Prefer not to say"))] + Profile.choices)
    years = forms.IntegerField(label=_("Years of experience (optional)"), required=False, min_value=0, max_value=80)
