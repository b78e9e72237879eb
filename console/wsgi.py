import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402 - read once the settings are loaded

if settings.CONSOLE_ROLE != "web":
    # A commands worker has a throwaway SECRET_KEY: sessions and CSRF tokens it signed would be worthless.
    raise ImproperlyConfigured(f"CONSOLE_ROLE={settings.CONSOLE_ROLE} serves no pages: start the web with "
                               "CONSOLE_ROLE=web (the default) and its own SECRET_KEY")
