"""The Turing test: /turing/ and /turing/?q=N for visitors, /turing/results/ for researchers."""
from django.urls import path

from . import study_views, views

app_name = "turing"
urlpatterns = [
    path("", views.index, name="index"),
    path("start/", views.start, name="start"),
    path("answer/", views.answer, name="answer"),
    path("img/<str:token>.jpg", views.image, name="image"),
    path("results/", views.results, name="results"),
    path("results/answers.csv", views.answers_csv, name="answers_csv"),
    path("results/summary.csv", views.summary_csv, name="summary_csv"),
    path("results/results.json", views.results_json, name="results_json"),
]
# a study's analysis (turing/study_views.py)
urlpatterns += [
    path("results/s/<slug:slug>/", study_views.study_results, name="study_results"),
    path("results/s/<slug:slug>/answers.csv", study_views.study_answers_csv, name="study_answers_csv"),
    path("results/s/<slug:slug>/summary.csv", study_views.study_summary_csv, name="study_summary_csv"),
    path("results/s/<slug:slug>/results.json", study_views.study_results_json, name="study_results_json"),
]
