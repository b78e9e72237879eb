"""API tokens: made by a command or in the admin, shown once, stored as a digest."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_create_api_token_prints_the_token_alone_on_the_last_line(commander):
    out = StringIO()
    call_command("create_api_token", "cora", "--name", "deploys", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert token.startswith("icu_") and " " not in token
    assert ApiToken.user_for(token) == commander
    assert token not in str(list(ApiToken.objects.values()))
    assert "Commander" in out.getvalue()


def test_create_api_token_for_nobody_or_a_deactivated_user(commander):
    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_token", "ghost", stdout=StringIO())
    commander.is_active = False
    commander.save()
    with pytest.raises(CommandError, match="deactivated"):
        call_command("create_api_token", "cora", stdout=StringIO())
    assert ApiToken.objects.count() == 0


def test_the_admin_shows_a_new_token_once(client, admin_user, commander):
    client.force_login(admin_user)
    response = client.post("/admin/accounts/apitoken/add/", {"user": commander.pk, "name": "ci"}, follow=True)
    row = ApiToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    token = next(word for m in shown for word in m.split() if word.startswith("icu_"))
    assert ApiToken.user_for(token) == commander and row.hint == token[:8]
    page = client.get(f"/admin/accounts/apitoken/{row.pk}/change/").content.decode()
    assert token not in page
