"""Top-level routes: each app brings its own urls. MEDIA_ROOT is never mapped (it holds checkpoints,
run configs and the real photographs): each app's views serve what its pages show."""
from django.contrib import admin
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.template import loader
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language

urlpatterns = [
    path("", include("home.urls")),
    path("datasets/", include("datasets.urls")),
    path("generator/", include("generator.urls")),
    path("benchmarks/", include("classifier.urls")),
    path("thismoledoesnotexist/", include("seeds.urls")),
    path("turing/", include("turing.urls")),
    path("admin/", admin.site.urls),
    path("django-rq/", include("django_rq.urls")),
    # The language switcher (templates/languages.html) posts here. Without a CSRF token: the seed pages are
    # cached (one copy per language, for every visitor), so a page cannot carry a visitor's token, and all a
    # forged post can do is change a visitor's language. `next` is checked by Django (same host only).
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
]


def bad_request(request, exception):
    """The site's own 400 page, and 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (which Django
    raises as a 400). Rendered without the request: its host may be one this site does not serve."""
    status = 413 if isinstance(exception, RequestDataTooBig) else 400
    return HttpResponse(loader.render_to_string(f"{status}.html"), status=status)


handler400 = bad_request
