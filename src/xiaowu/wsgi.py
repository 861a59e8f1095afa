"""WSGI entry point for gunicorn (``xiaowu serve``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xiaowu.settings")

application = get_wsgi_application()
