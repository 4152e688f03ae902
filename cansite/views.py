"""The home page: a door to every part of the site."""
from django.shortcuts import render

from datasets.models import Dataset


def home(request):
    return render(request, "home.html", {"dataset_count": Dataset.objects.count()})
