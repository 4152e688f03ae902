from django.urls import path

from . import views

app_name = "datasets"
urlpatterns = [
    path("", views.dataset_list, name="list"),
    path("<str:name>/", views.dataset_detail, name="detail"),
    path("<str:name>/download/", views.start_download, name="download"),
    path("<str:name>/images/<int:image_id>/thumb.jpg", views.image_thumbnail, name="thumbnail"),
]
