"""Login and logout, with repeated failed logins throttled per user name and per address."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.views.decorators.http import require_POST


def _user_key(request) -> str:
    username = (request.POST.get("username") or "").strip().lower()
    return "login-fail:user:" + hashlib.sha256(username.encode()).hexdigest()[:32]


def _address_key(request) -> str:
    return f"login-fail:addr:{request.META.get('REMOTE_ADDR', '')}"


def _limits(request) -> dict[str, int]:
    # One user name gets a few tries; one address (an office behind NAT, a proxy) gets many more, so one
    # person's typos do not lock out their colleagues while a password-guessing address still stops.
    return {_user_key(request): settings.LOGIN_FAILURE_LIMIT,
            _address_key(request): settings.LOGIN_FAILURE_ADDRESS_LIMIT}


def _throttled(request) -> bool:
    counts = cache.get_many(list(_limits(request)))
    return any((counts.get(key) or 0) >= limit for key, limit in _limits(request).items())


def _record_failure(request) -> None:
    for key in _limits(request):
        if cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW_SECONDS) is False:
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW_SECONDS)


class _LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if _throttled(request):
            form = self.get_form()
            form.errors.clear()
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
            form.add_error(None, f"Too many failed logins. Wait {minutes} minutes and try again.")
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        cache.delete(_user_key(self.request))
        return super().form_valid(form)

    def form_invalid(self, form):
        _record_failure(self.request)
        return super().form_invalid(form)


login = login_not_required(_LoginView.as_view())
logout = require_POST(auth_views.LogoutView.as_view())
