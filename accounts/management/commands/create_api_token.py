"""manage.py create_api_token USERNAME [--name NAME]: prints the token alone on its last line."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiToken


class Command(BaseCommand):
    help = "Make a REST API token acting as USERNAME (with that user's role); prints the token on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for (shown in the admin)")

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username!r} is deactivated; a token for them would not work.")
        row, token = ApiToken.issue(user, name or f"token for {username}")
        roles = ", ".join(user.groups.order_by("name").values_list("name", flat=True)) or "no role"
        self.stdout.write(f"API token “{row.name}” for {username} ({roles}). It is shown only now:")
        self.stdout.write(token)
