"""Top-level routes: each app brings its own urls."""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("home.urls")),
    path("datasets/", include("datasets.urls")),
    path("generator/", include("generator.urls")),
    path("benchmarks/", include("classifier.urls")),
    path("thismoledoesnotexist/", include("seeds.urls")),
    path("turing/", include("turing.urls")),
    path("admin/", admin.site.urls),
    path("django-rq/", include("django_rq.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
