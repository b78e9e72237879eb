"""The escalation engine: start, stop, tick, page now, jump to a tier, and delivery of the outbox.

How it holds together (state in the database, never in broker ETAs):

- `start_escalation` (from `Incident.declare`) snapshots the policy onto an `Escalation` row and fires tier 1 in
  the declaring transaction: the people the policy says must know are paged whatever happens next.
- `tick` (beat, every ESCALATION_TICK_SECONDS) claims due rows with `SELECT … FOR UPDATE OF escalation, incident
  SKIP LOCKED`, writes their pages and moves each to its next due time, in one transaction; racing ticks skip each
  other's rows, and the unique constraint on pages is the backstop.
- `stop_escalation` (from `Incident.acknowledge`/`transition`) stops it in the transaction that changes the
  incident; pages of later tiers not yet sent are cancelled. Everything that writes an escalation locks the
  incident first, then the escalation (the tick takes both at once, skipping any it cannot have), so no two
  writers wait on each other in opposite orders.
- `deliver` (task `deliver_pages`, queue `notifications`) claims pending pages (pending → sending), sends them
  and records each outcome with a timeline event; transient failures go back to pending with their next attempt
  time (`notify.retry_policy()`), and `sweep` re-enqueues pages whose task never came.

A crash before the commit writes nothing; a crash after it leaves pending pages the sweep sends. Only a worker
killed between the SMTP/HTTP call and recording it can send a page twice (after SENDING_TIMEOUT_SECONDS).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from runbooks import bulk
from runbooks.escalation_plan import Directory, PlannedTarget, advance
from runbooks.models import CHAT, EMAIL, Contact, EscalationPolicy

from . import notify
from .choices import EventKind, EventSource
from .messages import compose
from .models import MANUAL_TIER, Escalation, Incident, IncidentError, Page, TimelineEvent

log = logging.getLogger(__name__)
TICK_BATCH = 500
DELIVERY_BATCH = 50
OUTBOX_GRACE_SECONDS = 30
SENDING_TIMEOUT_SECONDS = 120
NONE = "none"

State = Escalation.State


@dataclass
class TickResult:
    escalations: int = 0
    pages: int = 0
    swept: int = 0
    seconds: float = 0.0


@dataclass
class _Batch:
    """What one transaction writes: pages, timeline events, incidents whose revision moves."""

    now: datetime
    bump: bool = True  # False when the caller bumps the revision itself (declare, change_severity)
    pages: list[Page] = field(default_factory=list)
    events: list[TimelineEvent] = field(default_factory=list)
    incidents: set[int] = field(default_factory=set)
    skipped: list[Page] = field(default_factory=list)

    def event(self, incident_id: int, kind: str, message: str, *, actor=None, data=None,
              source: str = EventSource.SYSTEM) -> None:
        self.events.append(TimelineEvent(incident_id=incident_id, kind=kind, message=message, data=data or {},
                                         actor=actor if getattr(actor, "pk", None) else None, source=source,
                                         at=self.now))
        self.incidents.add(incident_id)

    def write(self) -> list[int]:
        """Store it all; returns the ids of the pages to send."""
        bulk.insert(self.pages)
        for page in self.skipped:
            self.event(page.incident_id, EventKind.NOTIFICATION, f"Could not page {page.name}: {page.error}",
                       data={"page": page.pk, "state": page.state, "tier": page.tier})
        bulk.insert(self.events)
        if self.incidents and self.bump:
            Incident.objects.filter(pk__in=self.incidents).update(revision=F("revision") + 1, updated_at=self.now)
        return [p.pk for p in self.pages if p.state == Page.State.PENDING]


def _names(pages: list[Page]) -> str:
    parts = [f"{p.name} by {p.channel}" + (f" (via {p.via})" if p.via else "") for p in pages
             if p.state == Page.State.PENDING]
    return ", ".join(parts) or "nobody"


def _pages_for(batch: _Batch, escalation: Escalation, planned: list[PlannedTarget], targets: list[dict], *,
               tier: int, repeat: int, kind: str, taken: set, by=None, only_new: set | None = None) -> list[Page]:
    """Outbox rows for the planned targets, leaving out keys already written (and, if given, people paged)."""
    made = []
    for target, plan in zip(targets, planned, strict=True):
        base = {"incident_id": escalation.incident_id, "escalation": escalation, "kind": kind, "tier": tier,
                "repeat": repeat, "created_at": batch.now, "due_at": escalation.next_due_at or batch.now,
                "next_attempt_at": batch.now, "requested_by": by if getattr(by, "pk", None) else None}
        if not plan.routes:
            key = (str(target.get("key", ""))[:200], NONE)
            if key in taken:
                continue
            taken.add(key)
            page = Page(target=key[0], channel=NONE, name=plan.name[:200], state=Page.State.SKIPPED,
                        error=plan.problem or "no way to page them", contact=plan.person, **base)
            made.append(page)
            batch.skipped.append(page)
            continue
        for route in plan.routes:
            key = (route.key, route.channel)
            if key in taken or (only_new is not None and (route.contact_id, route.channel) in only_new):
                continue
            taken.add(key)
            via = plan.name if plan.name != route.name else ""
            made.append(Page(target=route.key, channel=route.channel, name=route.name[:200], via=via[:200],
                             address=route.address[:300], contact_id=route.contact_id, **base))
    batch.pages.extend(made)
    return made


def _taken(escalations: list[Escalation], positions: set[tuple[int, int]]) -> set[tuple]:
    """Keys (incident, tier, repeat, target, channel) already in the outbox for these positions."""
    if not escalations or not positions:
        return set()
    wanted = Q()
    for tier, repeat in positions:
        wanted |= Q(tier=tier, repeat=repeat)
    rows = Page.objects.filter(wanted, incident_id__in=[e.incident_id for e in escalations]).values_list(
        "incident_id", "tier", "repeat", "target", "channel")
    return set(rows)


def _fire(escalations: list[Escalation], batch: _Batch, *, by=None, reason: str = "",
          taken_all: set | None = None) -> None:
    """Page the tier each escalation stands at, then move it on (all in the caller's transaction).
    `taken_all`: the outbox keys already written for these positions, when the caller knows them."""
    directory = Directory([e.snapshot for e in escalations])
    if taken_all is None:
        taken_all = _taken(escalations, {(e.next_tier, e.next_repeat) for e in escalations})
    for esc in escalations:
        tiers, incident_id = esc.tiers, esc.incident_id
        if esc.next_tier >= len(tiers):
            esc.state, esc.next_due_at, esc.stopped_at = State.FINISHED, None, batch.now
            esc.stop_reason = "nobody acknowledged after the last tier"
            batch.event(incident_id, EventKind.ESCALATION,
                        f"Nobody acknowledged: every tier of {esc.snapshot.get('name')} has been paged.")
            continue
        tier, repeat = esc.next_tier, esc.next_repeat
        spec = tiers[tier]
        targets = list(spec.get("targets") or [])
        planned = [directory.resolve(t, batch.now) for t in targets]
        taken = {(t, c) for (i, tr, rp, t, c) in taken_all if (i, tr, rp) == (incident_id, tier, repeat)}
        made = _pages_for(batch, esc, planned, targets, tier=tier, repeat=repeat, kind=Page.Kind.TIER,
                          taken=taken)
        label = f"Tier {tier + 1}" + (f" (repeat {repeat})" if repeat else "")
        waited = tiers[tier - 1].get("delay") if tier else tiers[-1].get("delay")
        why = reason or ("" if tier == 0 and repeat == 0 else f"; nobody acknowledged within {waited} min")
        batch.event(incident_id, EventKind.ESCALATION,
                    f"{label} of {esc.snapshot.get('name')}: paging {_names(made)}{why}",
                    actor=by, data={"tier": tier, "repeat": repeat, "pages": len(made)})
        esc.last_fired_at = batch.now
        delay = spec.get("delay")
        following = advance(tiers, esc.repeat, tier, repeat)
        if delay is None:
            esc.state, esc.next_due_at, esc.stopped_at = State.FINISHED, None, batch.now
            esc.stop_reason = f"tier {tier + 1} is the last one (it has no delay)"
        elif following is None:
            esc.next_tier, esc.next_due_at = len(tiers), batch.now + timedelta(minutes=delay)
        else:
            (esc.next_tier, esc.next_repeat), esc.next_due_at = following, batch.now + timedelta(minutes=delay)


_MOVES = ("state", "next_tier", "next_repeat", "next_due_at", "last_fired_at", "stopped_at", "stop_reason")
_ESCALATION_FIELDS = [*_MOVES, "snapshot", "policy", "generation", "manual_pages"]


def _save(escalations: list[Escalation], *, moves_only: bool) -> None:
    """A tick's escalations mostly move to the same place at the same time: one UPDATE per distinct move
    (bulk_update's CASE per row and field costs seconds for a thousand rows)."""
    if not moves_only:
        Escalation.objects.bulk_update(escalations, _ESCALATION_FIELDS)
        return
    groups: dict[tuple, list[int]] = {}
    for esc in escalations:
        groups.setdefault(tuple(getattr(esc, name) for name in _MOVES), []).append(esc.pk)
    for values, ids in groups.items():
        Escalation.objects.filter(pk__in=ids).update(**dict(zip(_MOVES, values, strict=True)))


def _commit(batch: _Batch, escalations: list[Escalation], *, moves_only: bool = False) -> list[int]:
    page_ids = batch.write()
    if escalations:
        _save(escalations, moves_only=moves_only)
    if page_ids:
        transaction.on_commit(partial(enqueue, page_ids))
    return page_ids


def enqueue(page_ids: list[int], *, countdown: float | None = None) -> None:
    """Hand pages to the notifications queue; a broker that is down only delays them (the sweep tries again)."""
    from . import tasks

    for start in range(0, len(page_ids), DELIVERY_BATCH):
        chunk = page_ids[start:start + DELIVERY_BATCH]
        try:
            tasks.deliver_pages.apply_async(
                (chunk,), countdown=countdown,
                retry=True, retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2})
        except Exception as exc:  # noqa: BLE001 - kombu, redis and socket errors all mean "not queued yet"
            log.warning("could not enqueue pages %s: %s (the next tick's sweep will)", chunk, exc)


# --- start, stop, re-snapshot ---------------------------------------------------------------------------

def _snapshot(incident: Incident) -> tuple[EscalationPolicy | None, dict]:
    policy = EscalationPolicy.objects.for_incident(incident.severity, incident.service)
    return policy, (policy.snapshot() if policy else {})


def start_escalation(incident: Incident, *, by=None) -> Escalation:
    """Snapshot the policy onto the incident and page tier 1 now; inside the declaring transaction."""
    now = timezone.now()
    policy, snap = _snapshot(incident)
    batch = _Batch(now, bump=False)  # the incident was created in this transaction
    esc = Escalation(incident=incident, policy=policy, snapshot=snap, started_at=now,
                     state=State.ACTIVE if snap.get("tiers") else State.NO_POLICY,
                     next_due_at=now if snap.get("tiers") else None)
    if snap.get("tiers"):  # without a policy the panel says so; the timeline records only what happened
        # Fired before it is stored, so the row is written once where tier 1 left it (an INSERT, then an
        # UPDATE of every field, cost a declare more than the rest of the escalation). Nothing is in the
        # outbox for an incident declared in this transaction: nothing to look up.
        _fire([esc], batch, reason="", taken_all=set())
    esc.save(force_insert=True)
    _commit(batch, [])
    return esc


def stop_escalation(incident: Incident, why: str, *, by=None, name: str = "") -> bool:
    """Stop paging (acknowledged or resolved); pages of later tiers not yet sent are cancelled. Tier 1 of the
    first pass, pages sent by hand and pages for a raised severity still go out: they tell, not escalate."""
    now = timezone.now()
    state = State.RESOLVED if why == "resolved" else State.ACKNOWLEDGED
    reason = f"{why} by {name}" if name else why
    stopped = Escalation.objects.filter(incident=incident, state=State.ACTIVE).update(
        state=state, next_due_at=None, stopped_at=now, stopped_by=by if getattr(by, "pk", None) else None,
        stop_reason=reason[:300])
    if not stopped:
        return False
    cancelled = Page.objects.filter(incident=incident, state=Page.State.PENDING, kind=Page.Kind.TIER).exclude(
        tier=0, repeat=0).update(state=Page.State.CANCELLED, error=f"not sent: {reason} first")
    extra = f"; {cancelled} page{'s' if cancelled != 1 else ''} not yet sent were cancelled" if cancelled else ""
    incident._event(EventKind.ESCALATION, by, f"Escalation stopped: {reason}{extra}.", source=EventSource.SYSTEM,
                    data={"state": state, "cancelled": cancelled})
    return True


def severity_changed(incident: Incident, old_level, *, by=None) -> None:
    """Re-snapshot for the new severity. Raised: page the new policy's tier 1 now, leaving out everyone already
    paged for this incident, and go on from tier 2 if nobody has acknowledged. Lowered: the new policy's tiers
    apply from the current position on, and nobody is paged now."""
    esc = Escalation.objects.select_for_update().filter(incident=incident).first()
    policy, snap = _snapshot(incident)
    now = timezone.now()
    batch = _Batch(now, bump=False)  # change_severity bumps
    if esc is None:
        start_escalation(incident, by=by)
        return
    if policy is None or not snap.get("tiers"):
        incident._event(EventKind.ESCALATION, by, f"No escalation policy for {incident.severity.name}: the "
                        f"escalation goes on as {esc.snapshot.get('name') or 'it was'}.", source=EventSource.SYSTEM)
        return
    raised = incident.severity.rank < old_level.rank
    esc.policy, esc.snapshot, esc.generation = policy, snap, esc.generation + 1
    open_ = incident.acknowledged_at is None and incident.is_open
    if raised:
        paged = set(Page.objects.filter(incident=incident, contact__isnull=False).exclude(
            state__in=(Page.State.SKIPPED, Page.State.CANCELLED)).values_list("contact_id", "channel"))
        taken = {(t, c) for (_, _, _, t, c) in _taken([esc], {(0, 0)})}
        tier0 = snap["tiers"][0]
        targets = list(tier0.get("targets") or [])
        planned = Directory([snap]).resolve
        made = _pages_for(batch, esc, [planned(t, now) for t in targets], targets, tier=0, repeat=0,
                          kind=Page.Kind.SEVERITY, taken=taken, by=by, only_new=paged)
        batch.event(incident.pk, EventKind.ESCALATION,
                    f"Severity raised to {incident.severity.name}: {policy.name} applies; paging {_names(made)} "
                    "(everyone else was already paged)", actor=by, source=EventSource.SYSTEM)
        following = advance(snap["tiers"], int(snap.get("repeat") or 0), 0, 0)
        if open_ and esc.state in (State.ACTIVE, State.NO_POLICY, State.FINISHED):
            delay = tier0.get("delay")
            if delay is None or following is None:
                esc.state, esc.next_due_at = State.FINISHED, None
                if delay is not None:
                    esc.state, esc.next_tier, esc.next_due_at = State.ACTIVE, len(snap["tiers"]), now + timedelta(
                        minutes=delay)
            else:
                esc.state, (esc.next_tier, esc.next_repeat) = State.ACTIVE, following
                esc.next_due_at = now + timedelta(minutes=delay)
            esc.stopped_at, esc.stop_reason = None, ""
    elif esc.state == State.NO_POLICY and open_:  # nobody was paged: the new policy starts from tier 1
        esc.state, esc.next_tier, esc.next_repeat, esc.next_due_at = State.ACTIVE, 0, 0, now
        batch.event(incident.pk, EventKind.ESCALATION,
                    f"Severity lowered to {incident.severity.name}: {policy.name} applies and starts now.",
                    actor=by, source=EventSource.SYSTEM)
    else:
        esc.next_tier = min(esc.next_tier, len(snap["tiers"]))
        batch.event(incident.pk, EventKind.ESCALATION,
                    f"Severity lowered to {incident.severity.name}: {policy.name} applies from tier "
                    f"{min(esc.next_tier + 1, len(snap['tiers']))} on; nobody is paged now.", actor=by,
                    source=EventSource.SYSTEM)
    _commit(batch, [esc])


# --- the tick -------------------------------------------------------------------------------------------

# What a tick reads of an escalation and its incident (the rest of the incident is long text it never needs).
_TICK_READS = ("id", "incident_id", "snapshot", "state", "next_tier", "next_repeat", "next_due_at",
               "last_fired_at", "stopped_at", "stop_reason", "incident__status", "incident__acknowledged_at")

def tick(now: datetime | None = None, *, limit: int = TICK_BATCH) -> TickResult:
    """Fire every due escalation (in batches of `limit`, a transaction each), then sweep the outbox."""
    import time

    began = time.monotonic()
    now = now or timezone.now()
    result = TickResult()
    while True:
        with transaction.atomic():
            due = list(
                Escalation.objects.select_for_update(skip_locked=True, of=("self", "incident"))
                .select_related("incident").only(*_TICK_READS).filter(state=State.ACTIVE, next_due_at__lte=now)
                .order_by("next_due_at")[:limit]
            )
            if not due:
                break
            batch = _Batch(now)
            live = []
            for esc in due:
                incident = esc.incident
                if not incident.is_open or incident.acknowledged_at is not None:  # stopped outside the methods
                    esc.state, esc.next_due_at, esc.stopped_at = State.ACKNOWLEDGED, None, now
                    esc.stop_reason = "the incident was already acknowledged"
                else:
                    live.append(esc)
            _fire(live, batch)
            result.pages += len(_commit(batch, due, moves_only=True))
        result.escalations += len(due)
        if len(due) < limit:
            break
    result.swept = sweep(now)
    result.seconds = time.monotonic() - began
    return result


def sweep(now: datetime | None = None, *, limit: int = 1000) -> int:
    """Re-enqueue pages whose delivery never came (a lost task), and free pages a dead worker was sending."""
    now = now or timezone.now()
    stuck = Page.objects.filter(state=Page.State.SENDING, claimed_at__lt=now - timedelta(
        seconds=SENDING_TIMEOUT_SECONDS))
    stuck_ids = list(stuck.values_list("pk", flat=True)[:limit])
    if stuck_ids:
        Page.objects.filter(pk__in=stuck_ids, state=Page.State.SENDING).update(
            state=Page.State.PENDING, next_attempt_at=now, error="the worker sending it stopped; sending again")
    lost = list(Page.objects.filter(state=Page.State.PENDING, next_attempt_at__lt=now - timedelta(
        seconds=OUTBOX_GRACE_SECONDS)).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    ids = sorted(set(stuck_ids) | set(lost))
    if ids:
        enqueue(ids)
    return len(ids)


# --- by hand: page now, jump to a tier ------------------------------------------------------------------

def _locked_escalation(incident: Incident) -> Escalation:
    incident._locked()
    esc = Escalation.objects.select_for_update().filter(incident=incident).first()
    if esc is None:  # an incident declared before paging existed
        esc = Escalation.objects.create(incident=incident, state=State.NO_POLICY, snapshot={})
    return esc


def _stale(esc: Escalation, position: str | None, incident: Incident) -> str:
    if position is None or position == esc.position:
        return ""
    if esc.state in (State.ACKNOWLEDGED, State.RESOLVED):
        when = timezone.localtime(esc.stopped_at).strftime("%H:%M") if esc.stopped_at else "just now"
        return f"Nothing was paged: the escalation stopped at {when} ({esc.stop_reason}) while you were looking."
    if esc.last_fired_at:
        return (f"Nothing was paged: the escalation moved on at {timezone.localtime(esc.last_fired_at):%H:%M} "
                "while you were looking; check the panel and choose again.")
    return "Nothing was paged: the escalation changed while you were looking; check the panel and choose again."


def page_now(incident: Incident, contact: Contact, *, by, position: str | None = None) -> list[Page]:
    """Page one contact at once, by hand (whatever the escalation's state, while the incident is open)."""
    with transaction.atomic():
        esc = _locked_escalation(incident)
        stale = _stale(esc, position, incident)
        if stale:
            raise IncidentError(stale)
        if not incident.is_open:
            raise IncidentError("The incident is resolved; nobody is paged for it any more.")
        members = list(contact.members.all())
        if not contact.routes(members):
            raise IncidentError(f"Nothing was paged: {contact.unreachable_reason(members)}.")
        batch = _Batch(timezone.now())
        esc.manual_pages += 1
        target = {"key": f"contact:{contact.pk}", "name": contact.name}
        plan = PlannedTarget(contact.name, contact.kind, contact.routes(members), contact)
        made = _pages_for(batch, esc, [plan], [target], tier=MANUAL_TIER, repeat=esc.manual_pages,
                          kind=Page.Kind.MANUAL, taken=set(), by=by)
        batch.event(incident.pk, EventKind.ESCALATION, f"Paging {_names(made)} now (by hand)", actor=by,
                    source=EventSource.WEB, data={"contact": contact.pk})
        _commit(batch, [esc])
    return made


def renotify(incident: Incident, *, reason: str) -> list[Page]:
    """Tell the policy's first tier again, e.g. a new alert joined an incident someone had acknowledged.

    Called inside the caller's transaction with the incident locked; each call is its own outbox position, so
    a repeated delivery of the same alert (which never reaches here: deduplicated first) could not page twice.
    """
    esc = Escalation.objects.select_for_update().filter(incident=incident).first()
    if esc is None or not esc.tiers or not incident.is_open:
        return []
    batch = _Batch(timezone.now())
    targets = list(esc.tiers[0].get("targets") or [])
    planned = [Directory([esc.snapshot]).resolve(t, batch.now) for t in targets]
    esc.manual_pages += 1
    made = _pages_for(batch, esc, planned, targets, tier=MANUAL_TIER, repeat=esc.manual_pages,
                      kind=Page.Kind.RENOTIFY, taken=set())
    batch.event(incident.pk, EventKind.ESCALATION, f"Paging {_names(made)} again: {reason}",
                source=EventSource.ALERT, data={"renotify": True, "pages": len(made)})
    _commit(batch, [esc])
    return made


def jump_to_tier(incident: Incident, tier: int, *, by, position: str | None = None) -> list[Page]:
    """Fire tier `tier` (0-based) of the running escalation now instead of waiting for it."""
    with transaction.atomic():
        esc = _locked_escalation(incident)
        stale = _stale(esc, position, incident)
        if stale:
            raise IncidentError(stale)
        if esc.state != State.ACTIVE:
            raise IncidentError(f"Nothing was paged: the escalation is not running ({esc.get_state_display().lower()}"
                                f"{': ' + esc.stop_reason if esc.stop_reason else ''}).")
        if not (esc.next_tier <= tier < len(esc.tiers)):
            raise IncidentError(f"There is no tier {tier + 1} ahead to jump to (tiers {esc.next_tier + 1} to "
                                f"{len(esc.tiers)} are).")
        batch = _Batch(timezone.now())
        esc.next_tier = tier
        _fire([esc], batch, by=by, reason=" (jumped to by hand)")
        _commit(batch, [esc])
    return list(batch.pages)


# --- delivery -------------------------------------------------------------------------------------------

def _send(page: Page, client, connection_holder: dict) -> None:
    subject, text, chat = compose(page)
    if page.channel == EMAIL:
        if "email" not in connection_holder:
            connection = notify.email_connection()
            try:
                connection.open()
            except Exception as exc:  # noqa: BLE001 - whatever the backend raises: unreachable for now
                raise notify.TransientError(f"the mail server could not be reached ({exc})") from None
            connection_holder["email"] = connection
        notify.send_email([page.address], subject, text, connection=connection_holder["email"])
    elif page.channel == CHAT:
        if page.contact is None:
            raise notify.PermanentError("the channel was removed from the contacts")
        notify.post_chat(page.contact.webhook_url, chat, client=client)
    else:
        raise notify.PermanentError(f"unknown channel {page.channel!r}")


def deliver(page_ids: list[int], *, now: datetime | None = None) -> dict[str, int]:
    """Send the pending pages among `page_ids` whose attempt is due; record each outcome."""
    now = now or timezone.now()
    with transaction.atomic():
        pages = list(Page.objects.select_for_update(skip_locked=True).filter(
            pk__in=page_ids, state=Page.State.PENDING, next_attempt_at__lte=now + timedelta(seconds=1)))
        if not pages:
            return {}
        Page.objects.filter(pk__in=[p.pk for p in pages]).update(
            state=Page.State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    pages = list(Page.objects.filter(pk__in=[p.pk for p in pages]).select_related(
        "incident__severity", "contact", "escalation", "requested_by"))
    outcomes: list[tuple[Page, notify.NotifyError | None]] = []
    holder: dict = {}
    try:
        with notify.chat_client() as client:
            for page in pages:
                try:
                    _send(page, client, holder)
                except notify.NotifyError as exc:
                    outcomes.append((page, exc))
                except Exception as exc:  # noqa: BLE001 - a bug or a backend's own error: recorded, not lost
                    log.exception("page %s could not be sent", page.pk)
                    outcomes.append((page, notify.PermanentError(f"sending failed: {exc}")))
                else:
                    outcomes.append((page, None))
    finally:
        if "email" in holder:
            holder["email"].close()
    return _record(outcomes)


def _record(outcomes: list) -> dict[str, int]:
    """Each outcome on its page (sent ones in one UPDATE: the common case of a big tick), with its event."""
    now = timezone.now()
    policy = notify.retry_policy()
    counts = {"sent": 0, "failed": 0, "retrying": 0}
    retries: dict[float, list[int]] = {}
    with transaction.atomic():
        batch = _Batch(now)
        sent = [page for page, exc in outcomes if exc is None]
        if sent and Page.objects.filter(pk__in=[p.pk for p in sent], state=Page.State.SENDING).update(
                state=Page.State.SENT, sent_at=now, error=""):
            for page in sent:
                batch.event(page.incident_id, EventKind.NOTIFICATION, f"Paged {_where(page)}, {page.tier_label}",
                            data={"page": page.pk, "state": Page.State.SENT, "tier": page.tier})
            counts["sent"] = len(sent)
        for page, exc in outcomes:
            if exc is None:
                continue
            if isinstance(exc, notify.TransientError) and not policy.gives_up_after(page.attempts):
                delay = policy.delay(page.attempts, exc.retry_after)
                changes = {"state": Page.State.PENDING, "error": str(exc)[:1000],
                           "next_attempt_at": now + timedelta(seconds=delay)}
                message = (f"Page to {_where(page)} failed ({exc}); trying again in {delay:.0f} s "
                           f"(attempt {page.attempts + 1} of {policy.max_attempts})")
                retries.setdefault(delay, []).append(page.pk)
                counts["retrying"] += 1
            else:
                gave_up = isinstance(exc, notify.TransientError)
                error = (f"gave up after {page.attempts} attempts: {exc}" if gave_up else str(exc))[:1000]
                changes = {"state": Page.State.FAILED, "error": error}
                message, counts["failed"] = f"Could not page {_where(page)}: {error}", counts["failed"] + 1
            if Page.objects.filter(pk=page.pk, state=Page.State.SENDING).update(**changes):
                batch.event(page.incident_id, EventKind.NOTIFICATION, message,
                            data={"page": page.pk, "state": changes["state"], "tier": page.tier})
        batch.write()
        for delay, ids in retries.items():
            transaction.on_commit(partial(enqueue, ids, countdown=delay))
    return counts


def _where(page: Page) -> str:
    return f"{page.name} by {page.channel}" + (f" ({page.address})" if page.address else "")
