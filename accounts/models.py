"""API tokens: each acts as its user, with that user's role; stored as a digest only."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from . import tokens

API_TOKEN_PREFIX = "icu_"


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A person's token for the REST API (`Authorization: Bearer icu_...`); the token itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. 'deploy pipeline'")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=12, editable=False, help_text="The token's first characters")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        """A new token for `user`: the row, and the token (never stored, so never shown again)."""
        token = tokens.new_token(API_TOKEN_PREFIX)
        row = cls.objects.create(user=user, name=name.strip()[:100] or "API token",
                                 token_hash=tokens.digest(token), hint=tokens.hint(token))
        return row, token

    def set_new_token(self) -> str:
        """Give an unsaved row (the admin's add form) its token; returns the token to show once."""
        token = tokens.new_token(API_TOKEN_PREFIX)
        self.token_hash, self.hint = tokens.digest(token), tokens.hint(token)
        return token

    @classmethod
    def user_for(cls, token: str | None):
        """The active user a token acts as, or None (unknown, revoked, or its user deactivated)."""
        if not token or not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
            return None
        row = cls.objects.active().select_related("user").filter(token_hash=tokens.digest(token)).first()
        if row is None or not tokens.same_digest(token, row.token_hash):
            return None
        now = timezone.now()
        # At most one write a minute per token: a busy script should not turn every read into a write.
        if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
            cls.objects.filter(pk=row.pk).update(last_used_at=now)
        row.user.api_token = row
        return row.user

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
