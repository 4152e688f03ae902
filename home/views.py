"""The home page: a door to every part of the site."""
from django.shortcuts import render

from datasets.models import Dataset
from generator.models import TrainingRun


def home(request):
    return render(request, "home/home.html", {"dataset_count": Dataset.objects.count(),
                                              "run_count": TrainingRun.objects.count()})
