"""Alerts in: integrations (one per sender), alert groups and alerts, and the inbox of every delivery.

A notification group (integration + group key) is one incident while it is open: a partial unique index allows
one open group per key. An alert is one (integration, fingerprint, starts at): a unique constraint. Deliveries
that repeat, or race each other, are caught by those constraints (incidents/alerts/ingest.py writes first and
lets the constraint decide), never by a read before the write.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts import tokens
from runbooks.models import Service, SeverityLevel

from .incident import Incident

INTEGRATION_TOKEN_PREFIX = "ici_"


class Integration(models.Model):
    """One sender of alerts (an Alertmanager, or any tool posting the generic JSON shape), with its token and
    how its alerts become incidents."""

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        GENERIC = "generic", "Generic JSON"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.ALERTMANAGER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(max_length=12, editable=False, help_text="The token's first characters")
    severity_label = models.CharField(
        max_length=100, default="severity",
        help_text="The alert label that carries its severity (generic JSON: the 'severity' field)",
    )
    severity_map = models.JSONField(
        default=dict, blank=True,
        help_text='Label value → severity level name or alias, e.g. {"page": "SEV1", "ticket": "SEV4"}. '
                  "Values not listed are looked up among the levels' names and aliases; then critical → the top "
                  "level, warning → the level two below it; anything else → the default level.",
    )
    default_severity = models.ForeignKey(
        SeverityLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="For alerts whose severity nothing above maps; empty: the least severe level",
    )
    default_service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="For alerts without a service (or job) label naming a known service",
    )
    resolved_mitigates = models.BooleanField(
        default=False, help_text="When every alert of an incident has resolved, move the incident to mitigated",
    )
    is_active = models.BooleanField(default=True, help_text="Inactive: deliveries are refused (401)")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def webhook_path(self) -> str:
        return reverse("api:alerts_alertmanager" if self.kind == self.Kind.ALERTMANAGER else "api:alerts_generic")

    @property
    def webhook_url(self) -> str:
        return settings.CONSOLE_URL.rstrip("/") + self.webhook_path

    def set_new_token(self) -> str:
        """Give the integration a new token (the old one stops working once saved); returns it to show once."""
        token = tokens.new_token(INTEGRATION_TOKEN_PREFIX)
        self.token_hash, self.token_hint = tokens.digest(token), tokens.hint(token)
        return token

    @classmethod
    def for_token(cls, token: str | None) -> Integration | None:
        """The active integration this token belongs to, or None."""
        if not token or not token.startswith(INTEGRATION_TOKEN_PREFIX) or len(token) > 200:
            return None
        found = _one_row(cls, "token_hash = %s AND is_active", [tokens.digest(token)])
        if found is None or not tokens.same_digest(token, found.token_hash):
            return None
        return found

    def severity_for(self, value: str) -> tuple[SeverityLevel | None, str]:
        """The level for a severity label value, and why (in words for the inbox).

        Names and aliases match as SeverityLevel.lookup matches them (case-insensitively), from one read of the
        matrix (a delivery may ask for several values).
        """
        value = (value or "").strip()
        label = self.severity_label
        levels = list(SeverityLevel.objects.order_by("rank"))
        if not levels:
            return None, "no severity level exists yet (import or add the severity matrix)"
        if value:
            mapped = next((v for k, v in (self.severity_map or {}).items() if str(k).lower() == value.lower()), None)
            if mapped is not None and (level := _named(levels, str(mapped))) is not None:
                return level, f"{label}={value} → {level.name} (the integration's mapping)"
            if (level := _named(levels, value)) is not None:
                return level, f"{label}={value} → {level.name} (a name or alias of that level)"
            if value.lower() == "critical":
                return levels[0], f"{label}={value} → {levels[0].name} (the top level)"
            if value.lower() == "warning":
                level = levels[min(2, len(levels) - 1)]
                return level, f"{label}={value} → {level.name} (two below the top)"
        level = next((lv for lv in levels if lv.pk == self.default_severity_id), None) or levels[-1]
        said = f"{label}={value}" if value else f"no {label} label"
        which = "the integration's default" if self.default_severity_id else "the least severe level"
        return level, f"{said} → {level.name} ({which})"


def _named(levels: list[SeverityLevel], text: str) -> SeverityLevel | None:
    wanted = text.strip().lower()
    for level in levels:
        if level.name.lower() == wanted or wanted in (str(a).lower() for a in level.aliases or []):
            return level
    return None


def _one_row(model, where: str, params: list):
    """One row of `model` by a WHERE clause on its own columns, or None: the ORM's query building cost more than
    the query on the alert webhook's path, which asks this on every delivery."""
    meta = model._meta
    quote = connection.ops.quote_name
    fields = meta.concrete_fields
    sql = (f"SELECT {', '.join(quote(f.column) for f in fields)} FROM {quote(meta.db_table)} "  # noqa: S608
           f"WHERE {where} LIMIT 1")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for field, value in zip(fields, row, strict=True):  # as the ORM reads them (JSON decoded, and so on)
        col = field.get_col(meta.db_table)
        for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            value = convert(value, col, connection)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], values)


class AlertGroup(models.Model):
    """One notification group of an integration (Alertmanager's groupKey, the generic dedup key): one incident
    while it is open. It closes when its incident is resolved; the next firing opens a new group."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="groups")
    group_key = models.TextField()
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the group key (keys can be long)")
    is_open = models.BooleanField(default=True)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="alert_groups")
    labels = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "key_hash"], condition=Q(is_open=True),
                                    name="alert_group_one_open"),
        ]

    def __str__(self) -> str:
        return self.group_key[:80]

    def on_new_alert_for_acknowledged_incident(self, incident: Incident, alerts: list[Alert]) -> None:
        """A new alert joined an incident someone had acknowledged: the people on it must hear again.

        Called inside the transaction that recorded the alert (its timeline event is already written): the
        first tier of its escalation is paged again (incidents/paging.py).
        """
        from incidents.paging import renotify  # the engine imports these models

        names = ", ".join(sorted({a.labels.get("alertname", "") for a in alerts} - {""})) or "a new alert"
        renotify(incident, reason=f"{names} joined after the incident was acknowledged")


class AlertQuerySet(models.QuerySet):
    def counts(self) -> tuple[int, int]:
        """(firing, resolved) among these alerts, in one query."""
        rows = dict(self.order_by().values_list("status").annotate(n=models.Count("pk")))
        return rows.get(Alert.State.FIRING, 0), rows.get(Alert.State.RESOLVED, 0)


class Alert(models.Model):
    """One alert: an (integration, fingerprint, starts at). Repeats bump its count and last-seen time."""

    class State(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="alerts")
    group = models.ForeignKey(AlertGroup, on_delete=models.CASCADE, related_name="alerts")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    fingerprint = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=State, default=State.FIRING)
    name = models.CharField(max_length=200, blank=True)
    summary = models.TextField(blank=True)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    generator_url = models.TextField(blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    seen_count = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "fingerprint", "starts_at"], name="alert_once"),
        ]
        indexes = [models.Index(fields=["incident", "status"], name="alert_incident_status")]

    def __str__(self) -> str:
        return f"{self.name or self.fingerprint} ({self.status})"


class AlertDelivery(models.Model):
    """The inbox: every request to a webhook, as received (less its token), with what was decided and why."""

    class Decision(models.TextChoices):
        NEW_INCIDENT = "new_incident", "New incident"
        ADDED = "added", "Added to incident"
        RESOLVED = "resolved", "Resolved"
        DUPLICATE = "duplicate", "Duplicate"
        IGNORED = "ignored", "Ignored"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="deliveries")
    kind = models.CharField(max_length=20, choices=Integration.Kind)
    received_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(default=200)
    decision = models.CharField(max_length=20, choices=Decision)
    reason = models.TextField(blank=True)
    body = models.TextField(blank=True)
    body_truncated = models.BooleanField(default=False)
    headers = models.JSONField(default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    group_key = models.TextField(blank=True)
    fingerprints = models.JSONField(default=list, blank=True)
    outcomes = models.JSONField(default=list, blank=True, help_text="Per alert: fingerprint, status, what happened")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name_plural = "alert deliveries"
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="delivery_received"),
            models.Index(fields=["integration", "-received_at"], name="delivery_integration_received"),
            models.Index(fields=["decision", "-received_at"], name="delivery_decision_received"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_decision_display()} at {self.received_at:%Y-%m-%d %H:%M:%S}"

    @property
    def can_replay(self) -> bool:
        return self.integration_id is not None and bool(self.body) and not self.body_truncated
