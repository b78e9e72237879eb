"""Demo data for make run: our own demo runbooks and severity matrix, an execution target, users.

Idempotent: running it again keeps what is there and adds nothing twice. The admin's password is
printed only when the account is created (or when CONSOLE_ADMIN_PASSWORD sets it).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.roles import ADMIN, COMMANDER, RESPONDER, VIEWER
from incidents.models import ExecutionTarget, Incident
from runbooks.importer import parse_document
from runbooks.models import Runbook, SeverityLevel
from runbooks.store import store_document

DEMO_DIR = Path(__file__).resolve().parents[3] / "runbooks" / "demo"
DEMO_PROGRAMS = ["uptime", "df", "sleep", "echo", "date", "seq", "ps", "free", "hostname", "uname", "cat",
                 "grep", "head", "tail", "wc", "kubectl", "psql", "curl", "aws"]


class Command(BaseCommand):
    help = "Load the demo runbooks, severity matrix, contacts, an execution target and demo users."

    def add_arguments(self, parser):
        parser.add_argument("--admin-only", action="store_true",
                            help="Only the admin account (printed once): a console with none of the demo data")

    def handle(self, *args, admin_only: bool = False, **options):
        if admin_only:  # an empty console of one's own: the admin account alone, printed once
            self._users(demo_users=False)
            return
        for path in sorted(DEMO_DIR.glob("*.md")):
            data = path.read_bytes()
            result = store_document(parse_document(data, path.name), source_bytes=data)
            self.stdout.write(f"demo: {path.name}: {result}")
            for warning in result.warnings:  # each one, not only their count
                self.stdout.write(f"  warning: {warning}")
        with transaction.atomic():
            ExecutionTarget.objects.get_or_create(
                name="local", defaults={"queue": "commands", "allowed_programs": DEMO_PROGRAMS,
                                        "timeout_seconds": 120, "is_default": True},
            )
        self._users()
        self._demo_paging()
        self._demo_incident()
        self._demo_postmortem()

    def _users(self, *, demo_users: bool = True) -> None:
        username = os.environ.get("CONSOLE_ADMIN_USER", "admin")
        given = os.environ.get("CONSOLE_ADMIN_PASSWORD")
        admin = User.objects.filter(username=username).first()
        if given:
            try:  # the same rules as any password set in the console (AUTH_PASSWORD_VALIDATORS)
                validate_password(given, user=admin or User(username=username, email=f"{username}@example.com"))
            except ValidationError as exc:
                raise CommandError("CONSOLE_ADMIN_PASSWORD is too weak: " + " ".join(exc.messages)) from None
        if admin is None or given:
            password = given or secrets.token_urlsafe(12)
            if admin is None:
                admin = User.objects.create_superuser(username, f"{username}@example.com", password)
            else:
                admin.set_password(password)
                admin.save(update_fields=["password"])
            admin.groups.add(Group.objects.get(name=ADMIN))
            if not demo_users:
                self.stdout.write(self.style.WARNING(
                    f"\n  Admin login: {username} / {password}\n"
                    "  (Printed once; set CONSOLE_ADMIN_USER / CONSOLE_ADMIN_PASSWORD to choose them.)\n"))
                return
            for name, role in (("commander", COMMANDER), ("responder", RESPONDER), ("viewer", VIEWER)):
                user, created = User.objects.get_or_create(username=f"demo-{name}", defaults={"first_name": name})
                if created or given:
                    user.set_password(password)
                    user.save()
                user.groups.add(Group.objects.get(name=role))
            self.stdout.write(self.style.WARNING(
                f"\n  Admin login: {username} / {password}\n"
                f"  Demo users demo-commander, demo-responder, demo-viewer share that password.\n"
                "  (Printed once; set CONSOLE_ADMIN_USER / CONSOLE_ADMIN_PASSWORD to choose them.)\n"
            ))

    def _demo_paging(self) -> None:
        """Every demo severity's policy gets a first tier paging the demo users by email at once (the console
        email backend prints it) and waiting one minute, so the document's own tiers follow a minute later."""
        from datetime import timedelta

        from django.utils import timezone

        from runbooks.models import Contact, EscalationPolicy, EscalationTier, Rotation, RotationMember

        people = []
        for name in ("commander", "responder", "viewer"):
            user = User.objects.filter(username=f"demo-{name}").first()
            if user is None:
                continue
            if not user.email:
                user.email = f"demo-{name}@example.com"
                user.save(update_fields=["email"])
            contact, _ = Contact.objects.get_or_create(
                name=f"Demo {name}", role="", defaults={"kind": Contact.Kind.PERSON, "email": user.email, "user": user})
            people.append(contact)
        if not people:
            return
        rotation, created = Rotation.objects.get_or_create(name="Demo on-call", defaults={
            "length": Rotation.Length.DAILY,
            "handoff_at": timezone.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=1)})
        if created:
            for position, person in enumerate(people[:2]):
                RotationMember.objects.create(rotation=rotation, person=person, position=position)
        action = "Demo: page the demo users by email at once"
        for level in SeverityLevel.objects.all():
            with transaction.atomic():
                policy = EscalationPolicy.objects.filter(severity=level, service__isnull=True).order_by("pk").first()
                if policy is None:
                    policy = EscalationPolicy.objects.create(name=f"{level.name} escalation", severity=level)
                if policy.tiers.filter(action=action).exists():
                    continue
                later = list(policy.tiers.order_by("order", "pk"))
                for order, tier in enumerate(later, start=1):
                    EscalationTier.objects.filter(pk=tier.pk).update(order=order)
                first = EscalationTier.objects.create(policy=policy, order=0, delay_minutes=1, action=action)
                first.contacts.set(people[:2])
                if not later:
                    last = EscalationTier.objects.create(policy=policy, order=1, delay_minutes=None,
                                                         action="Demo: whoever is on call")
                    last.rotations.set([rotation])
                EscalationPolicy.objects.filter(pk=policy.pk).update(edited=True)  # a re-import keeps this
        self.stdout.write(f"demo: paging policies for {SeverityLevel.objects.count()} severities "
                          f"(tier 1 emails {', '.join(p.email for p in people[:2])})")

    def _demo_incident(self) -> None:
        if Incident.objects.exists() or not SeverityLevel.objects.exists():
            return
        admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        runbook = Runbook.objects.filter(steps__commands__isnull=False).distinct().order_by("pk").first()
        Incident.declare(
            title="Demo: checkout latency above SLO", severity=SeverityLevel.objects.order_by("rank")[1:2].get()
            if SeverityLevel.objects.count() > 1 else SeverityLevel.objects.first(),
            by=admin, commander=admin, summary="A demo incident so the dashboard has something on it.",
            runbooks=[runbook] if runbook else [],
        )

    def _demo_postmortem(self) -> None:
        """A resolved incident with a drafted postmortem and an action item, so those pages have something."""
        from datetime import timedelta

        from django.utils import timezone

        from incidents.models import ActionItem, Postmortem

        if Incident.objects.filter(title__startswith="Demo: orders queue").exists() or \
                not SeverityLevel.objects.exists():
            return
        admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        runbook = Runbook.objects.filter(steps__isnull=False).distinct().order_by("pk").first()
        incident = Incident.declare(
            title="Demo: orders queue backed up", severity=SeverityLevel.objects.order_by("rank").first(), by=admin,
            commander=admin, impact_started_at=timezone.now() - timedelta(minutes=50),
            summary="Orders waited minutes in the queue before being taken.", runbooks=[runbook] if runbook else [])
        incident.add_note("Consumers were stuck on one malformed message", by=admin, important=True)
        incident.transition("mitigated", by=admin, note="malformed message moved aside")
        incident.transition("resolved", by=admin)
        Postmortem.generate(incident, by=admin)
        ActionItem.raise_item(incident, description="Send malformed messages to a dead-letter queue", owner=admin,
                              due_date=None, by=admin, priority=ActionItem.Priority.HIGH, runbook=runbook)
