"""Whom the organisation calls: people, teams and chat channels (one table, `Contact`), and services.

One table because the documents we import do not say which is which ("Platform Team", "#incidents", "Dana") and an
escalation tier names any of them; `Person`, `Team` and `Channel` are proxies, each with its own admin page showing
only the fields that make sense for it. The console pages by email and by Slack-compatible chat webhook: a
phone number or a chat handle is for people to use (tel: links, @mentions), not a way the console can page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from runbooks.secrets import UNREADABLE, EncryptedTextField
from runbooks.webhooks import UnsafeWebhook, check_webhook_url, mask_webhook

EMAIL, CHAT = "email", "chat"


@dataclass(frozen=True, slots=True)
class Route:
    """One way to page someone: by email to an address, or by chat through a contact's webhook."""

    contact_id: int
    name: str
    channel: str  # EMAIL or CHAT
    address: str  # the email address, or the channel's name ("#ops"); never the webhook URL

    @property
    def key(self) -> str:
        return f"contact:{self.contact_id}"


class ContactQuerySet(models.QuerySet):
    def people(self):
        return self.filter(kind=Contact.Kind.PERSON)

    def teams(self):
        return self.filter(kind=Contact.Kind.TEAM)

    def channels(self):
        return self.filter(kind=Contact.Kind.CHANNEL)


class Contact(models.Model):
    """A person, team or chat channel to call during an incident."""

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        TEAM = "team", "Team"
        CHANNEL = "channel", "Channel"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.PERSON)
    role = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    handle = models.CharField(max_length=100, blank=True, help_text="Chat handle, e.g. @oncall")
    channel = models.CharField(max_length=100, blank=True, help_text="Chat channel, e.g. #incidents")
    via = models.CharField(max_length=100, blank=True, help_text="How to reach them, e.g. PagerDuty")
    chat_url = models.URLField(blank=True, max_length=500,
                               help_text="A link that opens a chat with them or the channel (not the webhook)")
    webhook_url = EncryptedTextField(
        blank=True, help_text="Slack-compatible incoming webhook the console posts pages to; stored encrypted")
    members = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="teams",
                                     limit_choices_to={"kind": "person"}, help_text="For a team: its people")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts",
        help_text="Their console account: an acknowledgement from their page link is recorded as this user",
    )

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name", "role"], name="contact_unique_name_role")]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})" if self.role else self.name

    @property
    def webhook_masked(self) -> str:
        if self.webhook_url == UNREADABLE:
            return "set, but unreadable with the current SECRET_KEY"
        return mask_webhook(self.webhook_url)

    @property
    def chat_name(self) -> str:
        return self.channel or (self.name if self.kind == self.Kind.CHANNEL else "")

    def own_routes(self) -> list[Route]:
        """The ways the console can page this contact itself (not its members)."""
        routes = []
        if self.email:
            routes.append(Route(self.pk, self.name, EMAIL, self.email))
        if self.webhook_url and self.webhook_url != UNREADABLE:
            routes.append(Route(self.pk, self.name, CHAT, self.chat_name or self.name))
        return routes

    def routes(self, members: list[Contact] | None = None) -> list[Route]:
        """How a page to this contact goes out: a team with no address of its own is paged through its people."""
        routes = self.own_routes()
        if routes or self.kind != self.Kind.TEAM:
            return routes
        people = members if members is not None else list(self.members.all()) if self.pk else []
        return [route for person in people for route in person.own_routes()]

    def unreachable_reason(self, members: list[Contact] | None = None) -> str:
        """Why the console cannot page this contact, or "" when it can."""
        if self.routes(members):
            return ""
        if self.webhook_url == UNREADABLE:
            return f"{self.name}'s webhook URL cannot be read with the current SECRET_KEY: set it again"
        if self.kind == self.Kind.CHANNEL:
            return f"{self.name} has no webhook URL, so the console cannot post to it"
        if self.kind == self.Kind.TEAM:
            return (f"{self.name} has no email address or webhook URL, and none of its people has an email "
                    "address")
        others = [what for what, value in (("a phone number", self.phone), ("a chat handle", self.handle)) if value]
        extra = f" ({' and '.join(others)} {'are' if len(others) > 1 else 'is'} for people to use)" if others else ""
        return f"{self.name} has no email address, so the console cannot page them{extra}"

    def clean(self) -> None:
        super().clean()
        if self.webhook_url and self.webhook_url != UNREADABLE:
            try:
                check_webhook_url(self.webhook_url)
            except UnsafeWebhook as exc:
                raise ValidationError({"webhook_url": str(exc)}) from None


class _KindManager(models.Manager):
    kind = ""

    def get_queryset(self):
        return ContactQuerySet(self.model, using=self._db).filter(kind=self.kind)


class _PersonManager(_KindManager):
    kind = Contact.Kind.PERSON


class _TeamManager(_KindManager):
    kind = Contact.Kind.TEAM


class _ChannelManager(_KindManager):
    kind = Contact.Kind.CHANNEL


class Person(Contact):
    """A contact who is a person (email, phone, chat handle, their console account)."""

    objects = _PersonManager()

    class Meta:
        proxy = True
        verbose_name = "person"
        verbose_name_plural = "people"

    def save(self, *args, **kwargs) -> None:
        self.kind = Contact.Kind.PERSON
        super().save(*args, **kwargs)


class Team(Contact):
    """A contact who is a team: its own mailing list or channel, else its people."""

    objects = _TeamManager()

    class Meta:
        proxy = True

    def save(self, *args, **kwargs) -> None:
        self.kind = Contact.Kind.TEAM
        super().save(*args, **kwargs)


class Channel(Contact):
    """A chat channel, paged through its Slack-compatible incoming webhook."""

    objects = _ChannelManager()

    class Meta:
        proxy = True

    def save(self, *args, **kwargs) -> None:
        self.kind = Contact.Kind.CHANNEL
        super().save(*args, **kwargs)


class Service(models.Model):
    """Something the organisation runs, and the team that owns it."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_services",
        limit_choices_to={"kind": "team"}, help_text="The owning team",
    )
    contacts = models.ManyToManyField(Contact, blank=True, related_name="services")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
