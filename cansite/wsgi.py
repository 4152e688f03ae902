"""WSGI entry point: `gunicorn cansite.wsgi`."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cansite.settings")
application = get_wsgi_application()
