"""The Turing test: /turing/ and /turing/?q=N for visitors, /turing/s/<slug>/ for a study's participants,
/turing/results/ for researchers."""
from django.urls import path

from . import study_views, views

app_name = "turing"
urlpatterns = [
    path("", views.index, name="index"),
    path("start/", views.start, name="start"),
    path("answer/", views.answer, name="answer"),
    path("withdraw/", views.withdraw, name="withdraw"),
    path("img/<str:token>.jpg", views.image, name="image"),
    path("s/<slug:slug>/", study_views.entry, name="study"),
    path("s/<slug:slug>/start/", study_views.start, name="study_start"),
    path("s/<slug:slug>/decline/", study_views.decline, name="study_decline"),
    path("s/<slug:slug>/answer/", study_views.answer, name="study_answer"),
    path("s/<slug:slug>/withdraw/", study_views.withdraw, name="study_withdraw"),
    path("results/", views.results, name="results"),
    path("results/answers.csv", views.answers_csv, name="answers_csv"),
    path("results/summary.csv", views.summary_csv, name="summary_csv"),
    path("results/results.json", views.results_json, name="results_json"),
]
