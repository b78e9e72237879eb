"""manage.py create_integration NAME --kind alertmanager|generic: prints the URL, and the token on the last line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from incidents.models import Integration
from runbooks.models import Service, SeverityLevel


class Command(BaseCommand):
    help = "Make an alert integration; prints its webhook URL, then its token alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--kind", choices=Integration.Kind.values, default=Integration.Kind.ALERTMANAGER)
        parser.add_argument("--default-severity", default="", help="Level name or alias for unmapped severities")
        parser.add_argument("--default-service", default="", help="Service for alerts that name none")
        parser.add_argument("--resolved-mitigates", action="store_true",
                            help="Move an incident to mitigated when every alert of it has resolved")

    def handle(self, *args, name: str, kind: str, default_severity: str, default_service: str,
               resolved_mitigates: bool, **options):
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("Give the integration a name of 1 to 100 characters.")
        integration = Integration(name=name, kind=kind, resolved_mitigates=resolved_mitigates)
        if default_severity:
            integration.default_severity = SeverityLevel.lookup(default_severity)
            if integration.default_severity is None:
                raise CommandError(f"{default_severity!r} is not a severity level's name or alias.")
        if default_service:
            integration.default_service = Service.objects.filter(name__iexact=default_service).first()
            if integration.default_service is None:
                raise CommandError(f"There is no service {default_service!r}.")
        token = integration.set_new_token()
        try:
            with transaction.atomic():
                integration.save()
        except IntegrityError:
            raise CommandError(f"An integration named {name!r} already exists.") from None
        self.stdout.write(f"Integration “{name}” ({integration.get_kind_display()}).")
        self.stdout.write(f"URL: {integration.webhook_url}")
        self.stdout.write("Send Authorization: Bearer <token>. The token is shown only now:")
        self.stdout.write(token)
