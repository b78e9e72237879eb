"""Login and logout, with repeated failed logins throttled per user name and per address."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.views.decorators.http import require_POST

from . import throttle


class _LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if throttle.throttled(request):
            form = self.get_form()
            form.errors.clear()
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
            form.add_error(None, f"Too many failed logins. Wait {minutes} minutes and try again.")
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        throttle.forget(self.request)
        return super().form_valid(form)

    def form_invalid(self, form):
        throttle.record_failure(self.request)
        return super().form_invalid(form)


login = login_not_required(_LoginView.as_view())
logout = require_POST(auth_views.LogoutView.as_view())
