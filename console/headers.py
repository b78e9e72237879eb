"""The Content-Security-Policy every response carries: the console's own scripts and styles, nothing inline.

Django 5.2 has no CSP of its own (6.0 adds one) and django-csp would bring nonces and per-view policies the
console does not need: no page has inline script or style (templates keep them in static/, htmx is told not to
eval or inject styles by the htmx-config meta tag, and the admin's pages need none), so one fixed header does.
tests/test_headers.py keeps templates free of inline script, style and hx-on handlers.
"""

from __future__ import annotations

from django.conf import settings

POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # the API reference's icons are data: SVGs; an image runs no script
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
