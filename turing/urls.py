"""The Turing test: /turing/ and /turing/?q=N for visitors, /turing/s/<slug>/ for a study's participants,
/turing/results/ for researchers."""
from django.urls import path

from . import study_pages, study_views, views

app_name = "turing"
urlpatterns = [
    path("", views.index, name="index"),
    path("start/", views.start, name="start"),
    path("answer/", views.answer, name="answer"),
    path("withdraw/", views.withdraw, name="withdraw"),
    path("img/<str:token>.jpg", views.image, name="image"),
    # a study's participants (turing/study_pages.py)
    path("s/<slug:slug>/", study_pages.entry, name="study"),
    path("s/<slug:slug>/start/", study_pages.start, name="study_start"),
    path("s/<slug:slug>/decline/", study_pages.decline, name="study_decline"),
    path("s/<slug:slug>/answer/", study_pages.answer, name="study_answer"),
    path("s/<slug:slug>/withdraw/", study_pages.withdraw, name="study_withdraw"),
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
