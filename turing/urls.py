"""The Turing test: /turing/ and /turing/?q=N for visitors, /turing/results/ for researchers."""
from django.urls import path

from . import views

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
