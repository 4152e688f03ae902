"""The home page: a door to every part of the site."""
from django.shortcuts import render

from datasets.models import Dataset
from generator.models import TrainingRun
from turing.selectors import open_studies


def home(request):
    return render(request, "home/home.html", {"dataset_count": Dataset.objects.count(),
                                              "run_count": TrainingRun.objects.count(),
                                              "studies": open_studies()})
