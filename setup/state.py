"""What is set up and what is missing, for the /setup/ page: one `Area` per thing a team configures.

Every area says its state (done, missing, needs attention, optional), one line of what is there, the facts
behind it, and its one next step with a link. It is read in a fixed number of queries whatever the size of the
data (aggregates and short lists), so the page stays cheap for a console with thousands of runbooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Max, Q
from django.urls import reverse

from accounts.models import ApiToken
from incidents.models import ExecutionTarget, Integration
from runbooks.models import Contact, EscalationPolicy, Rotation, Runbook, SeverityLevel, SourceDocument

from . import workers

DONE, MISSING, ATTENTION, OPTIONAL = "done", "missing", "attention", "optional"
STATE_LABELS = {DONE: "Done", MISSING: "Missing", ATTENTION: "Needs attention", OPTIONAL: "Optional"}
SHOWN = 5  # documents with warnings, policies without tiers... named on the page; the rest are counted
CONSOLE_BACKENDS = {"django.core.mail.backends.console.EmailBackend": "prints each email in the terminal",
                    "django.core.mail.backends.locmem.EmailBackend": "keeps emails in memory (tests)",
                    "django.core.mail.backends.dummy.EmailBackend": "throws every email away",
                    "django.core.mail.backends.filebased.EmailBackend": "writes emails to files"}


@dataclass
class Fact:
    text: str
    tone: str = ""  # "", "warn" or "bad": how it is shown
    url: str = ""
    details: list[str] = field(default_factory=list)  # shown folded under the fact (every warning, say)


@dataclass
class Area:
    key: str
    title: str
    state: str
    summary: str
    next_step: str = ""
    next_url: str = ""
    guide: str = ""  # a docs/ page (setup/guides.py) that explains this area
    facts: list[Fact] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def _admin(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def _when(at: datetime | None) -> str:
    from django.utils import timezone
    from django.utils.timesince import timesince

    if at is None:
        return "never"
    now = timezone.now()
    if (now - at).total_seconds() < 60:
        return "just now"
    return f"{timesince(at, now).split(',')[0]} ago"


# --- the areas ----------------------------------------------------------------------------------------------

def runbooks_area() -> Area:
    count = Runbook.objects.count()
    docs = SourceDocument.objects.aggregate(n=Count("id"), last=Max("imported_at"))
    warned = list(SourceDocument.objects.exclude(warnings=[]).order_by("-imported_at")
                  .values_list("name", "warnings")[:SHOWN + 1])
    area = Area("runbooks", "Runbooks", DONE if count else MISSING,
                f"{_n(count, 'runbook')} from {_n(docs['n'], 'document')}; last import {_when(docs['last'])}",
                next_step="Import your runbook documents (Markdown, text, or a zip of the folder)",
                next_url=reverse("setup:import"), guide="getting-started",
                links=[("All runbooks", reverse("runbooks:list")),
                       ("Imported documents", _admin("runbooks_sourcedocument_changelist"))])
    if warned:
        area.state = ATTENTION if count else MISSING
        shown = warned[:SHOWN]
        for name, warnings in shown:
            warnings = [str(w) for w in warnings] if isinstance(warnings, list) else [str(warnings)]
            area.facts.append(Fact(f"{name}: {_n(len(warnings), 'warning')}", "warn", details=warnings))
        if len(warned) > SHOWN:
            area.facts.append(Fact("More documents have warnings: see the imported documents in the admin", "warn",
                                   _admin("runbooks_sourcedocument_changelist")))
        if count:
            area.next_step = "Read the warnings; fix the documents and import them again, or correct the runbooks"
    elif count:
        area.next_step = "Import more documents, or re-import a changed one (what admins changed is kept)"
    return area


def severity_area(levels: list[SeverityLevel]) -> Area:
    area = Area("severity", "Severity matrix", DONE if levels else MISSING,
                ", ".join(level.name for level in levels) if levels else "No severity levels yet",
                next_step="Import a document with your severity table, or add the levels in the admin",
                next_url=_admin("runbooks_severitylevel_add"), guide="getting-started",
                links=[("The matrix", reverse("oncall:severity")),
                       ("Levels in the admin", _admin("runbooks_severitylevel_changelist"))])
    for level in levels:
        aliases = f" (also {', '.join(str(a) for a in level.aliases)})" if level.aliases else ""
        clock = f"respond within {level.response_minutes} min" if level.response_minutes else \
            (level.response_text or "no response time")
        area.facts.append(Fact(f"{level.name}{aliases}: {clock}"))
    if levels:
        area.next_step = "Check the levels' response times and aliases (Critical, P1…) on the matrix"
        area.next_url = reverse("oncall:severity")
    return area


def contacts_area() -> Area:
    people, teams, channels = Contact.Kind.PERSON, Contact.Kind.TEAM, Contact.Kind.CHANNEL
    counts = Contact.objects.aggregate(
        people=Count("id", filter=Q(kind=people)), teams=Count("id", filter=Q(kind=teams)),
        channels=Count("id", filter=Q(kind=channels)),
        unreachable=Count("id", filter=Q(kind=people, email="", webhook_url="")),
        unreachable_channels=Count("id", filter=Q(kind=channels, webhook_url="")),
    )
    total = counts["people"] + counts["teams"] + counts["channels"]
    area = Area("contacts", "Contacts and teams", DONE if counts["people"] or counts["channels"] else MISSING,
                f"{_n(counts['people'], 'person', 'people')}, {_n(counts['teams'], 'team')}, "
                f"{_n(counts['channels'], 'chat channel')}",
                next_step="Add the people you page (with an email address) and your incident chat channel",
                next_url=_admin("runbooks_person_add"), guide="getting-started",
                links=[("People", _admin("runbooks_person_changelist")),
                       ("Teams", _admin("runbooks_team_changelist")),
                       ("Channels", _admin("runbooks_channel_changelist"))])
    if counts["unreachable"]:
        area.facts.append(Fact(f"{_n(counts['unreachable'], 'person', 'people')} without an email address: the "
                               "console cannot page them", "warn", _admin("runbooks_person_changelist")))
    if counts["unreachable_channels"]:
        area.facts.append(Fact(f"{_n(counts['unreachable_channels'], 'channel')} without a webhook URL: the console "
                               "cannot post to them", "warn", _admin("runbooks_channel_changelist")))
    if total and (counts["unreachable"] or counts["unreachable_channels"]):
        area.state = ATTENTION
        area.next_step = "Give them an email address or a chat webhook, so that a policy can page them"
    elif total:
        area.next_step = "Add a chat channel with its webhook, so pages reach the team's chat too" \
            if not counts["channels"] else "Keep people's addresses current; teams page their people"
        area.next_url = _admin("runbooks_channel_add") if not counts["channels"] else \
            _admin("runbooks_person_changelist")
    return area


def rotations_area() -> Area:
    rotations = list(Rotation.objects.annotate(members=Count("memberships")).order_by("name")
                     .values_list("name", "members")[:SHOWN + 1])
    area = Area("rotations", "On-call rotations", DONE if rotations else OPTIONAL,
                f"{_n(len(rotations), 'rotation')}" if len(rotations) <= SHOWN else f"more than {SHOWN} rotations",
                next_step="Add a rotation if “whom do we call” means “who is on call now”",
                next_url=_admin("runbooks_rotation_add"), guide="getting-started",
                links=[("Rotations", _admin("runbooks_rotation_changelist")),
                       ("Whom to call now", reverse("oncall:escalation"))])
    empty = [name for name, members in rotations[:SHOWN] if not members]
    for name, members in rotations[:SHOWN]:
        area.facts.append(Fact(f"{name}: {_n(members, 'person', 'people')}", "bad" if not members else ""))
    if empty:
        area.state = ATTENTION
        area.next_step = "Add people to the empty rotations: a tier that pages one pages nobody"
        area.next_url = _admin("runbooks_rotation_changelist")
    elif rotations:
        area.next_step = "See who is on call now, and the escalation's dry run"
        area.next_url = reverse("oncall:escalation")
    return area


def policies_area(levels: list[SeverityLevel]) -> Area:
    totals = EscalationPolicy.objects.aggregate(n=Count("id"), any_severity=Count("id", filter=Q(severity=None)))
    no_tiers = list(EscalationPolicy.objects.annotate(tiers_n=Count("tiers")).filter(tiers_n=0)
                    .values_list("name", flat=True)[:SHOWN])
    uncovered = [] if totals["any_severity"] else [level.name for level in levels if not level.policies_n]
    area = Area("policies", "Escalation policies", DONE if totals["n"] else MISSING,
                _n(totals["n"], "policy", "policies"),
                next_step="Add a policy: whom to page first for a severity, and who next if nobody answers",
                next_url=_admin("runbooks_escalationpolicy_add"), guide="getting-started",
                links=[("Policies", _admin("runbooks_escalationpolicy_changelist")),
                       ("Dry run", reverse("oncall:escalation"))])
    if uncovered:
        area.facts.append(Fact(f"Severities without a policy: {', '.join(uncovered)} (nobody is paged for them)",
                               "bad" if totals["n"] else "warn"))
    if no_tiers:
        area.facts.append(Fact(f"Policies without tiers: {', '.join(no_tiers)}", "bad",
                               _admin("runbooks_escalationpolicy_changelist")))
    if totals["n"] and (uncovered or no_tiers):
        area.state = ATTENTION
        area.next_step = "Add a policy for each severity without one (or one for any severity)"
    elif totals["n"]:
        area.next_step = "Try a dry run: who would be paged at which minute"
        area.next_url = reverse("oncall:escalation")
    return area


def integrations_area() -> Area:
    rows = list(Integration.objects.annotate(last=Max("deliveries__received_at")).order_by("name")[:SHOWN * 4])
    area = Area("integrations", "Alert integrations", DONE if rows else OPTIONAL,
                _n(len(rows), "integration") if rows else "No alert source connected",
                next_step="Connect Prometheus Alertmanager (or any tool, with the generic JSON webhook)",
                next_url=_admin("incidents_integration_add"), guide="alertmanager",
                links=[("Integrations", _admin("incidents_integration_changelist")),
                       ("Alert inbox", _admin("incidents_alertdelivery_changelist"))])
    silent = 0
    for row in rows:
        state = "" if row.is_active else " (inactive)"
        if row.last is None:
            silent += 1
        area.facts.append(Fact(f"{row.name} ({row.get_kind_display()}){state}: last alert {_when(row.last)}; "
                               f"posts to {row.webhook_url}", "warn" if row.last is None else "",
                               _admin("incidents_integration_change", row.pk)))
    if silent:
        area.state = ATTENTION
        area.next_step = "Point the sender at the URL shown (the guide has an alertmanager.yml receiver)"
        area.next_url = reverse("setup:guide", args=["alertmanager"])
    elif rows:
        area.next_step = "See why an alert did or did not open an incident in the inbox"
        area.next_url = _admin("incidents_alertdelivery_changelist")
    return area


def targets_area(consumers: workers.Consumers) -> Area:
    targets = list(ExecutionTarget.objects.order_by("name")[:SHOWN * 4])
    area = Area("targets", "Execution targets (runbook commands)", DONE if targets else OPTIONAL,
                _n(len(targets), "target") if targets else "No execution target: runbook commands cannot run",
                next_step="Add a target: the queue its worker consumes and the programs allowed there",
                next_url=_admin("incidents_executiontarget_add"), guide="deploying",
                links=[("Targets", _admin("incidents_executiontarget_changelist"))])
    if consumers.error:
        area.facts.append(Fact(f"Could not ask the workers: {consumers.error}", "bad"))
    problems = 0
    for target in targets:
        names = consumers.by_queue.get(target.queue, [])
        if consumers.error:
            listening = "unknown"
        elif names:
            listening = f"consumed now by {', '.join(names)}"
        else:
            listening = "no worker consumes it right now"
            problems += 1
        report = target.worker_report or {}
        said = f"its worker {report['summary']}" if report.get("summary") else \
            "no command has run here yet (the first says how its worker runs them)"
        tone = "bad" if not names or report.get("refused") else ("warn" if report and not report.get(
            "separate_user") else "")
        problems += bool(report.get("refused"))
        area.facts.append(Fact(f"{target.name}: queue “{target.queue}”, {listening}; {said}", tone,
                               _admin("incidents_executiontarget_change", target.pk)))
    if targets and (problems or consumers.error):
        area.state = ATTENTION
        area.next_step = "Start a commands worker for the queue (on the host that holds the credentials)"
        area.next_url = reverse("setup:guide", args=["deploying"])
    elif targets:
        area.next_step = "Allow only the programs your runbooks need; keep secrets on the worker's host"
        area.next_url = _admin("incidents_executiontarget_changelist")
    if consumers.checked_at:
        area.facts.append(Fact(f"Workers asked {_when(consumers.checked_at)} (kept {workers.CACHE_SECONDS} s)"))
    return area


def messages_area(chat_contacts: list[Contact]) -> Area:
    backend = settings.EMAIL_BACKEND
    local = CONSOLE_BACKENDS.get(backend)
    if local:
        email = Fact(f"Email: not sent, the backend {local} (EMAIL_BACKEND)", "warn")
    else:
        login = "with a login" if settings.EMAIL_HOST_USER else "without a login"
        tls = "STARTTLS" if settings.EMAIL_USE_TLS else "no TLS"
        email = Fact(f"Email: through {settings.EMAIL_HOST}:{settings.EMAIL_PORT} ({tls}, {login}), "
                     f"from {settings.DEFAULT_FROM_EMAIL}")
    chat = Fact(f"Chat: {_n(len(chat_contacts), 'contact')} with a webhook"
                + (f" ({', '.join(c.name for c in chat_contacts[:SHOWN])}{'…' if len(chat_contacts) > SHOWN else ''})"
                   if chat_contacts else ""), "" if chat_contacts else "warn")
    links = Fact(f"Links in messages point at {settings.CONSOLE_URL} (CONSOLE_URL)")
    ready = not local or chat_contacts
    area = Area("messages", "Email and chat", DONE if ready else ATTENTION,
                "Pages go out by email and by chat webhooks", guide="notifications", facts=[email, chat, links],
                next_step="Send yourself a test message (below); set SMTP or add a channel's webhook if it fails",
                next_url="#test-message")
    if local and not chat_contacts:
        area.summary = "Nothing leaves this machine yet: no SMTP server and no chat webhook"
        area.next_step = "Set EMAIL_BACKEND and EMAIL_HOST (SMTP), or add a chat channel with its webhook"
        area.next_url = reverse("setup:guide", args=["notifications"])
    return area


def tokens_area(user) -> Area:
    counts = ApiToken.objects.active().aggregate(n=Count("id"), mine=Count("id", filter=Q(user=user)))
    area = Area("tokens", "API tokens", DONE if counts["n"] else OPTIONAL,
                f"{_n(counts['n'], 'active token')} ({counts['mine']} yours)",
                next_step="Make a token for a script or CI (or manage.py create_api_token USERNAME)",
                next_url=_admin("accounts_apitoken_add"), guide="api",
                links=[("Tokens", _admin("accounts_apitoken_changelist")), ("API docs", reverse("api:docs"))])
    if counts["n"]:
        area.next_step = "Try the API with curl (the guide has the example)"
        area.next_url = reverse("setup:guide", args=["api"])
    return area


# --- the page and the dashboard ------------------------------------------------------------------------------

def chat_contacts() -> list[Contact]:
    """Contacts the console can post to (a webhook URL is set), for the test message's choice."""
    return list(Contact.objects.exclude(webhook_url="").only("id", "name", "kind", "channel").order_by("name"))


def gather(user, *, consumers: workers.Consumers | None = None) -> list[Area]:
    levels = list(SeverityLevel.objects.annotate(policies_n=Count("escalation_policies")).order_by("rank"))
    contacts = chat_contacts()
    return [
        runbooks_area(), severity_area(levels), contacts_area(), rotations_area(), policies_area(levels),
        integrations_area(), targets_area(consumers if consumers is not None else workers.queue_consumers()),
        messages_area(contacts), tokens_area(user),
    ]


def nothing_configured() -> bool:
    """True on a console nobody has set up: no runbooks, no contacts, no severity matrix. One query when
    anything is there (the runbooks come first: almost every console has them)."""
    return not (Runbook.objects.exists() or Contact.objects.exists() or SeverityLevel.objects.exists())
