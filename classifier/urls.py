from django.urls import path

from . import views

app_name = "classifier"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.<str:fmt>", views.export, name="export"),
    path("<str:name>/cell/", views.cell, name="cell"),
    path("experiments/<int:experiment_id>/", views.experiment, name="experiment"),
]
