"""Runbooks with their steps, commands and versions, the documents they came from, and the severity matrix."""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils.text import slugify

from .people import Service


class Phase(models.TextChoices):
    DETECTION = "detection", "Detection"
    TRIAGE = "triage", "Triage"
    INVESTIGATION = "investigation", "Investigation"
    MITIGATION = "mitigation", "Mitigation"
    REMEDIATION = "remediation", "Remediation"
    VERIFICATION = "verification", "Verification"
    PREVENTION = "prevention", "Prevention"
    POST_INCIDENT = "post-incident", "Post-incident"
    OTHER = "other", "Other"


class SeverityLevel(models.Model):
    """One row of the severity matrix; rank 0 is the most severe."""

    name = models.CharField(max_length=50, unique=True)
    aliases = models.JSONField(default=list, blank=True, help_text='Other names, e.g. ["SEV1", "Critical"]')
    rank = models.PositiveSmallIntegerField(unique=True)
    description = models.TextField(blank=True)
    response_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="How soon someone must respond; empty for 'next business day' and such"
    )
    response_text = models.CharField(max_length=200, blank=True, help_text="Response time in words")
    examples = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name

    @property
    def css_class(self) -> str:
        """Severity colour class: sev-0 (most severe) to sev-4."""
        return f"sev-{min(self.rank, 4)}"

    @property
    def needs_second_approval(self) -> bool:
        """Destructive commands on the two most severe levels need a second commander's approval."""
        return self.rank <= 1

    @classmethod
    def lookup(cls, text: str) -> SeverityLevel | None:
        """Find a level by name or alias, whatever the case, spaces or hyphens ('Sev 1' is 'SEV1')."""
        from runbooks.severity_aliases import normal

        wanted = normal(text or "")
        if not wanted:
            return None
        for level in cls.objects.all():
            if normal(level.name) == wanted or wanted in (normal(a) for a in level.aliases):
                return level
        return None


class SourceDocument(models.Model):
    """A document the importer read; runbooks keep a link to where they came from."""

    class Split(models.TextChoices):
        AUTO = "auto", "As the importer reads it"
        DOCUMENT = "document", "The whole document is one runbook"
        H2 = "h2", "Each level-2 heading (##) is a runbook"
        H3 = "h3", "Each level-3 heading (###) is a runbook"

    name = models.CharField(max_length=300, unique=True)
    split = models.CharField(
        max_length=10, choices=Split, default=Split.AUTO,
        help_text="How the document is read into runbooks; chosen on the import preview, reused on re-import",
    )
    title = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64)
    warnings = models.JSONField(default=list, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class Runbook(models.Model):
    """A procedure for one kind of trouble: ordered steps, each with commands."""

    title = models.CharField(max_length=300)
    key = models.CharField(max_length=100, null=True, blank=True, unique=True, help_text="The document's own id")
    slug = models.SlugField(max_length=320, unique=True)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="runbooks")
    alerts = models.JSONField(default=list, blank=True, help_text="Alert names it answers")
    error_patterns = models.JSONField(default=list, blank=True)
    severity_text = models.CharField(max_length=100, blank=True, help_text="Severity as the document states it")
    summary = models.TextField(blank=True)
    body_markdown = models.TextField(blank=True)
    body_html = models.TextField(blank=True, editable=False)
    source = models.ForeignKey(
        SourceDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="runbooks"
    )
    imported_service = models.CharField(
        max_length=200, blank=True, editable=False,
        help_text="The service the last import named; a different service was chosen by an admin and is kept",
    )
    search_text = models.TextField(blank=True, editable=False)
    version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["source", "title"], name="runbook_unique_title_per_source"),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.title}" if self.key else self.title

    def get_absolute_url(self) -> str:
        return reverse("runbooks:detail", args=[self.slug])

    def save(self, *args, **kwargs) -> None:
        from runbooks.markdown import render_markdown

        if not self.slug:
            self.slug = self._unique_slug()
        self.body_html = render_markdown(self.body_markdown)
        super().save(*args, **kwargs)

    def _unique_slug(self) -> str:
        base = slugify(self.key or self.title)[:300] or "runbook"
        slug, n = base, 2
        while Runbook.objects.filter(slug=slug).exclude(pk=self.pk).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug

    def snapshot(self, steps: list[tuple[Step, list[Command]]] | None = None) -> dict:
        """Everything a version keeps: the runbook with its steps and commands, as plain JSON.

        `steps` (each step with its commands, in order) saves reading them again when the caller has just
        written them (an import of thousands of steps)."""
        if steps is None:
            steps = [(step, list(step.commands.all())) for step in self.steps.prefetch_related("commands")]
        return {
            "title": self.title,
            "key": self.key,
            "service": self.service.name if self.service_id else None,
            "alerts": list(self.alerts),
            "error_patterns": list(self.error_patterns),
            "severity": self.severity_text,
            "summary": self.summary,
            "body_markdown": self.body_markdown,
            "steps": [
                {
                    "phase": step.phase,
                    "heading": step.heading,
                    "text": step.text,
                    "checkbox": step.checkbox,
                    "commands": [
                        {
                            "language": c.language,
                            "text": c.text,
                            "parameters": list(c.parameters),
                            "destructive": c.is_destructive,
                            "needs_approval": c.needs_approval,
                        }
                        for c in commands
                    ],
                }
                for step, commands in steps
            ],
        }

    def refresh_search_text(self, steps: list[Step] | None = None) -> None:
        parts = [self.title, self.key or "", " ".join(self.alerts), " ".join(self.error_patterns), self.summary]
        parts += [f"{s.heading} {s.text}" for s in (self.steps.all() if steps is None else steps)]
        self.search_text = "\n".join(p for p in parts if p)
        Runbook.objects.filter(pk=self.pk).update(search_text=self.search_text)

    def record_version(
        self, *, by=None, note: str = "", steps: list[tuple[Step, list[Command]]] | None = None
    ) -> RunbookVersion | None:
        """Keep a version when the runbook (with its steps and commands) differs from the last one.

        Call it inside the transaction that made the change, after steps and commands are saved; `steps`
        as for snapshot().
        """
        assert transaction.get_connection().in_atomic_block, "record_version belongs in the change's transaction"
        self.refresh_search_text(None if steps is None else [step for step, _ in steps])
        snap = self.snapshot(steps)
        last = self.versions.order_by("-number").first()
        if last is not None and last.snapshot == snap:
            return None
        number = (last.number if last else 0) + 1
        version = RunbookVersion.objects.create(runbook=self, number=number, snapshot=snap, created_by=by, note=note)
        Runbook.objects.filter(pk=self.pk).update(version=number)
        self.version = number
        return version

    def current_version(self) -> RunbookVersion | None:
        return self.versions.order_by("-number").first()


class Step(models.Model):
    """One thing a responder does or checks."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveIntegerField(default=0)
    phase = models.CharField(max_length=20, choices=Phase, default=Phase.OTHER)
    heading = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    checkbox = models.BooleanField(default=False, help_text="Written as a checklist item in the source")
    imported_phase = models.CharField(
        max_length=20, blank=True, editable=False,
        help_text="The phase the last import read; a different phase was chosen by an admin and is kept",
    )

    class Meta:
        ordering = ["runbook", "order", "pk"]

    def __str__(self) -> str:
        return self.text[:80] or self.heading or f"Step {self.order}"


class Command(models.Model):
    """An exact command a step runs, with the parameters it contains."""

    class Language(models.TextChoices):
        BASH = "bash", "Bash"
        SQL = "sql", "SQL"
        POWERSHELL = "powershell", "PowerShell"
        PYTHON = "python", "Python"
        YAML = "yaml", "YAML"
        TEXT = "text", "Text"

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="commands")
    order = models.PositiveIntegerField(default=0)
    language = models.CharField(max_length=30, default="bash")
    text = models.TextField()
    parameters = models.JSONField(default=list, blank=True, editable=False)
    destructive = models.BooleanField(default=False, editable=False, help_text="Detected from the text")
    destructive_override = models.BooleanField(
        null=True, blank=True, help_text="Override the detection: yes, no, or empty to trust it"
    )
    needs_approval = models.BooleanField(
        default=False, help_text="Always require a second commander's approval, whatever the severity"
    )

    class Meta:
        ordering = ["step", "order", "pk"]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def is_destructive(self) -> bool:
        return self.destructive if self.destructive_override is None else self.destructive_override

    @property
    def runnable(self) -> bool:
        from runbooks.languages import is_runnable

        return is_runnable(self.language)

    def save(self, *args, **kwargs) -> None:
        from runbooks.commandtext import find_parameters
        from runbooks.destructive import is_destructive

        self.parameters = find_parameters(self.text)
        self.destructive = is_destructive(self.text, self.language)
        super().save(*args, **kwargs)


class RunbookVersion(models.Model):
    """A JSON snapshot of a runbook with its steps and commands, kept at every change."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["runbook", "-number"]
        constraints = [models.UniqueConstraint(fields=["runbook", "number"], name="runbook_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.runbook} v{self.number}"

