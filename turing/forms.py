"""The consent step and the optional profile."""
from django import forms

from .models import Profile


class ConsentForm(forms.Form):
    consent = forms.BooleanField(label="I have read this and agree to take part.",
                                 error_messages={"required": "Please tick the box to agree before you start."})
    profile = forms.ChoiceField(label="You are (optional)", required=False,
                                choices=[("", "Prefer not to say")] + Profile.choices)
    years = forms.IntegerField(label="Years of experience (optional)", required=False, min_value=0, max_value=80)
