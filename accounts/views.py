"""Login and logout, with repeated failed logins slowed down per user name and per address (throttle.py).

django-axes was weighed and not used: its answer to repeated failures is a lock-out (every attempt refused,
the right password too, until a cool-off ends or an admin resets it), counted per IP or per user name as
given; the console wants growing delays after which the right password works, names keyed the way the login
form normalises them, failures for names without an account kept away from the address count, and no
tables or per-failure database writes.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import throttle


class _LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        wait = throttle.wait_seconds(request)
        if wait:
            form = self.get_form()
            form.errors.clear()
            when = f"{wait} seconds" if wait < 120 else f"{math.ceil(wait / 60)} minutes"
            form.add_error(None, f"Too many failed logins. Wait {when}, then try again: with the right "
                                 "password you will get in.")
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        throttle.forget(self.request)
        return super().form_valid(form)

    def form_invalid(self, form):
        throttle.record_failure(self.request)
        return super().form_invalid(form)


login = login_not_required(_LoginView.as_view())


@login_not_required
def admin_login(request):
    """The admin's own login page would skip the throttle: send it to this one."""
    next_url = request.GET.get("next") or reverse("admin:index")
    return redirect(f"{reverse('login')}?{urlencode({'next': next_url})}")
logout = require_POST(auth_views.LogoutView.as_view())
