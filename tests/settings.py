"""The settings the test suite runs: production's own (console/settings.py), nothing changed.

Only the environment is completed, as a deployment's would be: production refuses to start without a secret key,
so a test run makes one up. Anything a test needs set otherwise it sets itself (pytest-django's `settings`
fixture, or the fixtures in tests/conftest.py: an HTTPS test client, collected static files, a plain-HTTP live
server for the browser tests).
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

from console.settings import *  # noqa: E402, F403
