from django.urls import path

from . import views

app_name = "generator"
urlpatterns = [
    path("", views.run_list, name="runs"),
    path("runs/<str:name>/", views.run_detail, name="run"),
    path("runs/<str:name>/status.json", views.run_status, name="run_status"),
    path("runs/<str:name>/grid.png", views.run_grid, name="run_grid"),
    path("runs/<str:name>/cancel/", views.cancel_run, name="cancel"),
]
