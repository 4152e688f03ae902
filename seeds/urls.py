"""Seed pages under /thismoledoesnotexist/. Fixed names start with '_', which no run name can."""
from django.urls import path

from . import views

app_name = "seeds"
urlpatterns = [
    path("", views.random_page, name="random"),
    path("_all/", views.index, name="index"),
    path("_img/<str:sha256>/<str:variant>/<str:name>", views.image, name="image"),
    path("<str:run>/", views.run_index, name="run"),
    path("<str:run>/<str:seed>/", views.seed_page, name="page"),
    path("<str:run>/<str:seed>/morph/<str:other>/", views.morph, name="morph"),
]
