"""What one delivery does: parse it, group it, deduplicate its alerts, open or update an incident, and keep an
inbox line saying what was decided and why.

Deduplication is the database's: a partial unique index allows one open group per (integration, group key) and
a unique constraint one alert per (integration, fingerprint, starts at). Rows are written with
`INSERT ... ON CONFLICT DO NOTHING`, so of two deliveries at the same moment one inserts and the other finds the
row (after waiting for the first to commit) and counts a repeat. The reads that come first (the open group, a
known alert's UPDATE) are the fast path for repeats, never the guard: the constraint is.

A delivery that only repeats alerts of an open incident is counted with one UPDATE and no lock. Anything that
decides something locks the group row for the rest of its transaction, so such deliveries of one group are
applied one at a time; the incident is changed only through its own methods (declare, record, transition).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from pydantic import ValidationError

from runbooks.matching import SCORE_PATTERN, match_runbooks
from runbooks.models import Runbook, Service

from ..choices import OPEN_STATUSES, EventKind, EventSource, Status
from ..models.alerts import Alert, AlertDelivery, AlertGroup, Integration
from ..models.incident import Incident
from .payloads import AlertIn, AlertmanagerPayload, GenericPayload, GroupIn, from_alertmanager, from_generic

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # a delivery over this is refused (413); Alertmanager's are a few KB
KEPT_BODY_BYTES = 64 * 1024  # what the inbox keeps of a body it refused as too large, or of an unauthenticated one
RUNBOOKS_ATTACHED = 3  # at most this many matching runbooks are attached to a declared incident
HIDDEN_HEADERS = {"HTTP_AUTHORIZATION", "HTTP_COOKIE", "HTTP_PROXY_AUTHORIZATION", "HTTP_X_CSRFTOKEN"}
Decision = AlertDelivery.Decision


class Rejected(Exception):
    """A delivery refused as it stands; the message is for the person who configured the sender."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


# --- the request, as kept in the inbox -------------------------------------------------------------------


def headers_of(meta: dict) -> dict[str, str]:
    """Request headers without credentials (the token never reaches the inbox)."""
    kept = {}
    for key, value in meta.items():
        if key in HIDDEN_HEADERS:
            continue
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key.removeprefix("HTTP_").replace("_", "-").title()
            kept[name] = str(value)[:500].replace("\x00", "")
    return kept


def body_text(body: bytes, limit: int | None = None) -> tuple[str, bool]:
    """The body as text for the inbox (undecodable bytes replaced, NUL removed), and whether it was cut."""
    cut = limit is not None and len(body) > limit
    text = (body[:limit] if cut else body).decode("utf-8", "replace").replace("\x00", "\ufffd")
    return text, cut


def new_delivery(kind: str, *, integration: Integration | None, body: bytes, headers: dict, remote_addr: str | None,
                 keep: int | None = None, replay_of: AlertDelivery | None = None) -> AlertDelivery:
    text, cut = body_text(body, keep)
    return AlertDelivery(integration=integration, kind=kind, body=text, body_truncated=cut, headers=headers,
                         remote_addr=remote_addr or None, replay_of=replay_of)


def refuse(delivery: AlertDelivery, status: int, reason: str) -> AlertDelivery:
    """Keep the inbox line of a refused delivery: nothing else is stored."""
    # The reason may quote the sender's field names: keep it storable whatever they hold.
    delivery.decision, delivery.status_code, delivery.reason = Decision.REJECTED, status, reason.replace("\x00", "")
    delivery.save()
    return delivery


# --- parsing --------------------------------------------------------------------------------------------


def parse(kind: str, body: bytes) -> GroupIn:
    if not body.strip():
        raise Rejected(400, "The body is empty; send the alert as JSON.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "The body is not UTF-8 text; send the alert as JSON.") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise Rejected(400, f"The body is not valid JSON{where}.") from None
    if not isinstance(data, dict):
        raise Rejected(400, "The body must be a JSON object.")
    model = AlertmanagerPayload if kind == Integration.Kind.ALERTMANAGER else GenericPayload
    try:
        payload = model.model_validate(data)
    except ValidationError as exc:
        raise Rejected(400, "The alert does not fit the expected shape: " + describe(exc)) from None
    return from_alertmanager(payload) if kind == Integration.Kind.ALERTMANAGER else from_generic(payload)


def describe(exc: ValidationError, limit: int = 5) -> str:
    """pydantic's errors as a sentence: 'alerts.0.fingerprint: Field required; version: ...'."""
    parts = []
    for error in exc.errors(include_url=False)[:limit]:
        where = ".".join(str(p)[:100].replace("\x00", "\\0") for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


# --- receiving -------------------------------------------------------------------------------------------


def receive(integration: Integration, kind: str, body: bytes, *, headers: dict, remote_addr: str | None = None,
            replay_of: AlertDelivery | None = None) -> AlertDelivery:
    """Handle one authenticated delivery to the `kind` webhook and return its (saved) inbox line."""
    delivery = new_delivery(kind, integration=integration, body=body, headers=headers, remote_addr=remote_addr,
                            replay_of=replay_of)
    if integration.kind != kind:
        other = "alertmanager" if integration.kind == Integration.Kind.ALERTMANAGER else "generic"
        return refuse(delivery, 400, f"This token belongs to “{integration.name}”, a {integration.get_kind_display()} "
                                     f"integration: post to /api/v1/alerts/{other}/.")
    try:
        group_in = parse(kind, body)
    except Rejected as exc:
        return refuse(delivery, exc.status, exc.message)
    delivery.group_key = group_in.key
    delivery.fingerprints = [a.fingerprint for a in group_in.alerts]
    try:
        done, seen = _repeats_at_once(integration, group_in, delivery)
        if done:
            return delivery
        with transaction.atomic():
            _apply(integration, group_in, delivery, seen)
            _save_new(delivery)
    except Exception as exc:  # a fault of ours or of the database: keep the line, let the sender retry
        logger.exception("alert delivery for integration %s failed", integration.pk)
        delivery.pk = None
        delivery.incident = None
        delivery.outcomes, delivery.fingerprints, delivery.group_key = [], [], ""
        delivery.decision, delivery.status_code = Decision.FAILED, 503
        delivery.reason = (f"Could not be processed ({type(exc).__name__}); nothing was changed. The sender may "
                           "retry, or replay it from the inbox.")
        delivery.save()
    return delivery


def replay(delivery: AlertDelivery) -> AlertDelivery:
    """Process a stored delivery again (after a mapping was fixed); the result is a new inbox line."""
    if not delivery.can_replay:
        raise Rejected(400, "Only a complete delivery from a known integration can be replayed.")
    integration = Integration.objects.get(pk=delivery.integration_id)
    return receive(integration, delivery.kind, delivery.body.encode("utf-8"), headers=delivery.headers,
                   remote_addr=None, replay_of=delivery)


# --- grouping and deduplication ------------------------------------------------------------------------


@dataclass
class Outcome:
    alert: AlertIn
    what: str  # new, repeat, resolved, refired, joined, arrived resolved
    pk: int | None = None

    @property
    def fires(self) -> bool:
        return self.what in ("new", "refired", "joined")

    @property
    def resolves(self) -> bool:
        return self.what in ("resolved", "arrived resolved")


@dataclass
class _Result:
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _insert_or_nothing(model, values: dict) -> int | None:
    """INSERT one row, or nothing when it breaks a unique constraint: the new primary key, or None."""
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in values]
    columns = ", ".join(quote(f.column) for f in fields)
    params = [f.get_db_prep_save(values[name], connection) for f, name in zip(fields, values, strict=True)]
    marks = ", ".join(["%s"] * len(fields))
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks}) "  # noqa: S608 - model names
           f"ON CONFLICT DO NOTHING RETURNING {quote(model._meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _open_group(integration: Integration, group_in: GroupIn, now, *, known_missing: bool = False) -> AlertGroup:
    """The open group for this key, locked; created when there is none (the partial unique index decides)."""
    digest = key_hash(group_in.key)
    for attempt in range(5):
        if not (known_missing and attempt == 0):
            group = (AlertGroup.objects.select_for_update(of=("self",)).select_related("incident")
                     .filter(integration=integration, key_hash=digest, is_open=True).first())
            if group is not None:
                return group
        pk = _insert_or_nothing(AlertGroup, {
            "integration_id": integration.pk, "group_key": group_in.key, "key_hash": digest, "is_open": True,
            "labels": group_in.labels, "opened_at": now,
        })
        if pk is not None:
            group = AlertGroup(pk=pk, integration=integration, group_key=group_in.key, key_hash=digest,
                               labels=group_in.labels, opened_at=now)
            group.created_now = True
            return group
        # Another delivery opened (or closed) the group between our two statements: look again.
    raise RuntimeError("the alert group kept changing under this delivery")


def _open_group_seen(integration: Integration, key: str) -> tuple | None:
    """(pk, opened at, incident id, incident status) of the open group for this key, or None; unlocked.
    Asked on every delivery, so in plain SQL: building the ORM query cost more than running it."""
    quote = connection.ops.quote_name
    group_table, incident_table = quote(AlertGroup._meta.db_table), quote(Incident._meta.db_table)
    sql = (f"SELECT g.id, g.opened_at, g.incident_id, i.status FROM {group_table} g "  # noqa: S608 - model names
           f"LEFT JOIN {incident_table} i ON i.id = g.incident_id "
           "WHERE g.integration_id = %s AND g.key_hash = %s AND g.is_open LIMIT 1")
    with connection.cursor() as cursor:
        cursor.execute(sql, [integration.pk, key_hash(key)])
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0], _read_datetime(AlertGroup, "opened_at", row[1]), row[2], row[3]


def _read_datetime(model, name: str, value):
    """A value read by plain SQL, as the ORM would give it (SQLite returns text; USE_TZ makes it aware)."""
    col = model._meta.get_field(name).get_col(model._meta.db_table)
    for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
        value = convert(value, col, connection)
    return value


def _save_new(obj) -> None:
    """INSERT a new row for `obj` and set its primary key: Model.save() without the ORM's query building (the
    inbox line is written on every delivery). It sends no signals: nothing listens for the inbox's."""
    meta = obj._meta
    quote = connection.ops.quote_name
    obj._prepare_related_fields_for_save(operation_name="save")
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding, obj._state.db = False, connection.alias


def _count_repeats(integration: Integration, group_pk: int, opened_at, alerts: list[AlertIn], now) -> set:
    """Bump the count and last-seen time of the alerts this group already has with the same status, in one
    UPDATE; returns the (fingerprint, starts at) of those it bumped."""
    table = connection.ops.quote_name(Alert._meta.db_table)
    starts_field = Alert._meta.get_field("starts_at")
    rows, params = [], []
    for a in alerts:
        rows.append("(%s, %s, %s)")
        params += [a.fingerprint, starts_field.get_db_prep_value(a.starts_at or opened_at, connection), a.status]
    now_value = Alert._meta.get_field("last_seen_at").get_db_prep_value(now, connection)
    sql = (f"UPDATE {table} SET seen_count = seen_count + 1, last_seen_at = %s "  # noqa: S608 - model names
           f"WHERE integration_id = %s AND group_id = %s AND (fingerprint, starts_at, status) IN "
           f"(VALUES {', '.join(rows)}) RETURNING fingerprint, starts_at")
    with connection.cursor() as cursor:
        cursor.execute(sql, [now_value, integration.pk, group_pk, *params])
        found = cursor.fetchall()
    return {fingerprint for fingerprint, _ in found}


def _upsert_alert(integration: Integration, group: AlertGroup, a: AlertIn, now) -> Outcome:
    starts = a.starts_at or group.opened_at
    key = {"integration": integration, "fingerprint": a.fingerprint, "starts_at": starts}
    resolved_at = (a.ends_at or now) if a.status == Alert.State.RESOLVED else None
    pk = _insert_or_nothing(Alert, {
        "integration_id": integration.pk, "group_id": group.pk, "incident_id": group.incident_id,
        "fingerprint": a.fingerprint, "starts_at": starts, "status": a.status, "name": a.name,
        "summary": a.summary, "labels": a.labels, "annotations": a.annotations, "generator_url": a.generator_url,
        "ends_at": a.ends_at, "first_seen_at": now, "last_seen_at": now, "seen_count": 1, "resolved_at": resolved_at,
    })
    if pk is not None:
        return Outcome(a, "new" if a.status == Alert.State.FIRING else "arrived resolved", pk)
    # Known, but its status changed, or it belonged to an earlier group (its incident was resolved meanwhile).
    row = Alert.objects.select_for_update().get(**key)
    if a.status == row.status:
        what = "repeat" if row.group_id == group.pk else ("joined" if a.status == Alert.State.FIRING
                                                          else "arrived resolved")
    else:
        what = "resolved" if a.status == Alert.State.RESOLVED else "refired"
    Alert.objects.filter(pk=row.pk).update(
        group=group, incident=group.incident_id, status=a.status, seen_count=F("seen_count") + 1, last_seen_at=now,
        ends_at=a.ends_at, resolved_at=resolved_at if what != "repeat" else row.resolved_at,
        labels=a.labels, annotations=a.annotations, summary=a.summary,
    )
    return Outcome(a, what, row.pk)


_UNSEEN = object()  # the open group has not been looked for yet
_INCIDENT_MARK = "{incident}"


def _duplicate(group_in: GroupIn, delivery: AlertDelivery, incident_id) -> None:
    """The inbox line of a delivery whose every alert was a known repeat on an open incident."""
    delivery.outcomes = [{"fingerprint": a.fingerprint, "alert": a.name, "status": a.status, "what": "repeat"}
                         for a in group_in.alerts]
    delivery.incident_id = incident_id
    delivery.decision = Decision.DUPLICATE
    delivery.reason = (f"Every alert in it was already known (its count and last-seen time moved); "
                       f"#{incident_id} is open, so it was counted there, not opened again.")
    _note_truncated(group_in, delivery)
    delivery.status_code = 200


def _repeats_at_once(integration: Integration, group_in: GroupIn, delivery: AlertDelivery) -> tuple[bool, object]:
    """PostgreSQL: the whole of a pure repeat in ONE statement, outside any transaction of ours.

    Most deliveries repeat what an open incident already has (Alertmanager re-sends every group at each
    repeat_interval). On a busy machine each round trip to the database waits for a core, and this path made
    six (the group, the count, the inbox line, BEGIN, COMMIT); now it makes one. The statement finds the open
    group, locks the alerts of the delivery that it already has with the same status, and only when every one
    of them is there bumps them and writes the inbox line; otherwise it changes nothing and the delivery goes
    the ordinary way, in a transaction. Locking with FOR UPDATE re-reads a row another delivery changed
    meanwhile (a status moved), so a count is never applied to an alert that stopped matching.

    Returns (done, the open group as `_open_group_seen` gives it, or _UNSEEN where not looked for).
    """
    fingerprints = [a.fingerprint for a in group_in.alerts]
    if connection.vendor != "postgresql" or not fingerprints or len(set(fingerprints)) != len(fingerprints):
        return False, _UNSEEN
    now = timezone.now()
    quote = connection.ops.quote_name
    alert_table, delivery_table = quote(Alert._meta.db_table), quote(AlertDelivery._meta.db_table)
    group_table, incident_table = quote(AlertGroup._meta.db_table), quote(Incident._meta.db_table)
    starts_field = Alert._meta.get_field("starts_at")
    rows, params = [], []
    for a in group_in.alerts:
        rows.append("(%s, %s::timestamptz, %s)")
        params += [a.fingerprint, starts_field.get_db_prep_value(a.starts_at, connection), a.status]
    # The line as it will read; the incident's number comes from the group row, in the statement.
    _duplicate(group_in, delivery, _INCIDENT_MARK)
    delivery.incident_id = None
    line_fields = [f for f in AlertDelivery._meta.concrete_fields if not f.primary_key and f.name != "incident"]
    line_values = [f.get_db_prep_save(f.pre_save(delivery, True), connection) for f in line_fields]
    reason_at = [f.name for f in line_fields].index("reason")
    marks = ["%s"] * len(line_fields)
    marks[reason_at] = "replace(%s, %s, g.incident_id::text)"
    line_values[reason_at:reason_at + 1] = [delivery.reason, _INCIDENT_MARK]
    open_marks = ", ".join(["%s"] * len(OPEN_STATUSES))
    sql = (
        f"WITH g AS (SELECT g.id, g.opened_at, g.incident_id, i.status FROM {group_table} g "  # noqa: S608
        f"LEFT JOIN {incident_table} i ON i.id = g.incident_id "
        "WHERE g.integration_id = %s AND g.key_hash = %s AND g.is_open LIMIT 1), "
        f"w (fingerprint, starts_at, status) AS (VALUES {', '.join(rows)}), "
        f"known AS (SELECT a.id FROM {alert_table} a JOIN g ON a.group_id = g.id "
        "JOIN w ON a.fingerprint = w.fingerprint AND a.starts_at = COALESCE(w.starts_at, g.opened_at) "
        f"AND a.status = w.status WHERE a.integration_id = %s AND g.status IN ({open_marks}) FOR UPDATE OF a), "
        f"bumped AS (UPDATE {alert_table} SET seen_count = seen_count + 1, last_seen_at = %s "
        "WHERE id IN (SELECT id FROM known) AND (SELECT count(DISTINCT id) FROM known) = %s RETURNING id), "
        f"line AS (INSERT INTO {delivery_table} "
        f"({', '.join(quote(f.column) for f in line_fields)}, {quote('incident_id')}) "
        f"SELECT {', '.join(marks)}, g.incident_id FROM g WHERE (SELECT count(*) FROM bumped) = %s RETURNING id) "
        "SELECT g.id, g.opened_at, g.incident_id, g.status, (SELECT id FROM line) FROM g"
    )
    last_seen = Alert._meta.get_field("last_seen_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [integration.pk, key_hash(group_in.key), *params, integration.pk, *OPEN_STATUSES,
                             last_seen, len(fingerprints), *line_values, len(fingerprints)])
        row = cursor.fetchone()
    seen = None if row is None else (row[0], _read_datetime(AlertGroup, "opened_at", row[1]), row[2], row[3])
    if row is None or row[4] is None:
        delivery.outcomes, delivery.decision, delivery.reason, delivery.status_code = [], "", "", 200
        return False, seen
    _duplicate(group_in, delivery, row[2])
    delivery.pk, delivery._state.adding, delivery._state.db = row[4], False, connection.alias
    return True, seen


def _apply(integration: Integration, group_in: GroupIn, delivery: AlertDelivery, seen=_UNSEEN) -> None:
    now = timezone.now()
    # Fast path, without locking the group: when its incident is open, alerts it already has with the same
    # status are only counted (one UPDATE). Repeats of one group arrive together, and a lock on the group would
    # make them queue behind each other; counting needs no decision, so it needs no lock.
    if seen is _UNSEEN:
        seen = _open_group_seen(integration, group_in.key)
    counted: set = set()
    if seen is not None and seen[2] is not None and seen[3] in OPEN_STATUSES:
        counted = _count_repeats(integration, seen[0], seen[1], group_in.alerts, now)
        if len(counted) == len(group_in.alerts):
            _duplicate(group_in, delivery, seen[2])
            return
    # Anything else decides something (a new alert, a status change, a new group): one delivery at a time.
    group = _open_group(integration, group_in, now, known_missing=seen is None)
    incident = group.incident
    firing = any(a.status == Alert.State.FIRING for a in group_in.alerts)
    if incident is not None and not incident.is_open and firing:
        # Its incident was resolved: this group is over, and what fires now is a new problem.
        AlertGroup.objects.filter(pk=group.pk).update(is_open=False, closed_at=now)
        delivery.reason = f"#{incident.pk} was already {incident.get_status_display().lower()}; "
        group = _open_group(integration, group_in, now)
        incident = None
        counted = set()
    fresh = getattr(group, "created_now", False)
    outcomes = []
    for a in group_in.alerts:
        if a.fingerprint in counted and seen is not None and group.pk == seen[0]:
            outcomes.append(Outcome(a, "repeat"))
        elif fresh:  # a group made by this delivery has no alerts yet: straight to the insert
            outcomes.append(_upsert_alert(integration, group, a, now))
        else:
            bumped = _count_repeats(integration, group.pk, group.opened_at, [a], now)
            outcomes.append(Outcome(a, "repeat") if bumped else _upsert_alert(integration, group, a, now))
    delivery.outcomes = [{"fingerprint": o.alert.fingerprint, "alert": o.alert.name, "status": o.alert.status,
                          "what": o.what} for o in outcomes]
    if incident is None:
        _without_incident(integration, group, group_in, outcomes, delivery)
    else:
        _with_incident(integration, group, group_in, incident, outcomes, delivery)
    _note_truncated(group_in, delivery)
    delivery.status_code = 200


def _note_truncated(group_in: GroupIn, delivery: AlertDelivery) -> None:
    if group_in.truncated:
        delivery.reason += f" Alertmanager left out {group_in.truncated} more alert(s) of this group (truncatedAlerts)."


def _without_incident(integration, group, group_in, outcomes, delivery) -> None:
    if not any(o.alert.status == Alert.State.FIRING for o in outcomes):
        delivery.decision = Decision.IGNORED
        delivery.reason += ("Every alert in it is resolved and its group has no open incident: nothing to open "
                            "or update.")
        return
    firing = [o.alert for o in outcomes if o.alert.status == Alert.State.FIRING]
    severity, severity_why = _severity(integration, group_in, firing)
    if severity is None:
        delivery.decision = Decision.IGNORED
        delivery.reason += f"No incident could be declared: {severity_why}. Replay it once that is fixed."
        return
    service = _service(integration, group_in, firing)
    matches = _runbooks(group_in, firing, service)
    starts = [a.starts_at for a in firing if a.starts_at]
    incident = Incident.declare(
        title=group_in.title or firing[0].name or "Alert", severity=severity, service=service, by=None,
        summary=_summary(group_in, firing), impact_started_at=min(starts) if starts else None,
        runbooks=[runbook for runbook, _ in matches], source=EventSource.ALERT,
    )
    AlertGroup.objects.filter(pk=group.pk).update(incident=incident)
    Alert.objects.filter(group_id=group.pk).update(incident=incident)
    group.incident = incident
    if getattr(group, "created_now", False):  # every alert of the group is in this delivery
        firing_n, resolved_n = len(firing), len(outcomes) - len(firing)
    else:
        firing_n, resolved_n = Alert.objects.filter(incident=incident).counts()
    # On the timeline without a bump of the revision: nobody can have seen the incident this transaction made.
    incident._event(EventKind.ALERT, None, f"{_alerts_phrase(firing)} firing ({firing_n} firing / {resolved_n} "
                    "resolved)", source=EventSource.ALERT, data=_event_data(integration, group, firing))
    delivery.decision, delivery.incident = Decision.NEW_INCIDENT, incident
    attached = "; ".join(f"{runbook.title} ({why})" for runbook, why in matches) or "none matched"
    delivery.reason += (f"A new group is firing: declared #{incident.pk} {severity.name} ({severity_why}). "
                        f"Runbooks attached: {attached}.")


def _with_incident(integration, group, group_in, incident: Incident, outcomes, delivery) -> None:
    fired = [o.alert for o in outcomes if o.fires]
    resolved = [o.alert for o in outcomes if o.resolves]
    delivery.incident = incident
    if not (fired or resolved):
        delivery.decision = Decision.DUPLICATE
        delivery.reason += (f"Every alert in it was already known (its count and last-seen time moved); "
                            f"#{incident.pk} is {incident.get_status_display().lower()}, so it was counted there, "
                            "not opened again.")
        return
    firing_n, resolved_n = Alert.objects.filter(incident=incident).counts()
    counts = f"({firing_n} firing / {resolved_n} resolved)"
    if fired:
        renotify = incident.acknowledged_at is not None and incident.is_open
        incident.record(EventKind.ALERT, None, f"{_alerts_phrase(fired)} firing {counts}"
                        + (" · arrived after the incident was acknowledged" if renotify else ""),
                        source=EventSource.ALERT, data={**_event_data(integration, group, fired), "renotify": renotify})
        if renotify:
            group.on_new_alert_for_acknowledged_incident(incident, fired)
        delivery.decision = Decision.ADDED
        delivery.reason += f"{_alerts_phrase(fired)} joined #{incident.pk} (open: its timeline, not a new incident)."
    if resolved:
        incident.record(EventKind.ALERT, None, f"{_alerts_phrase(resolved)} resolved {counts}",
                        source=EventSource.ALERT, data=_event_data(integration, group, resolved))
        if not fired:
            delivery.decision = Decision.RESOLVED
        delivery.reason += f" {_alerts_phrase(resolved)} resolved on #{incident.pk}."
        _maybe_mitigate(integration, group_in, incident, firing_n, delivery)


def _maybe_mitigate(integration, group_in, incident: Incident, firing_n: int, delivery) -> None:
    if not integration.resolved_mitigates:
        return
    if firing_n:
        delivery.reason += f" Not mitigated: {firing_n} alert(s) still firing."
        return
    if group_in.truncated and group_in.status != Alert.State.RESOLVED:
        delivery.reason += " Not mitigated: alerts were left out of this delivery and the group still fires."
        return
    incident.refresh_from_db(fields=["status"])
    if incident.status not in (Status.DECLARED, Status.INVESTIGATING, Status.IDENTIFIED):
        return
    incident.transition(Status.MITIGATED, by=None, note="every alert has resolved", source=EventSource.ALERT)
    delivery.reason += f" Every alert has resolved: #{incident.pk} moved to mitigated (the integration allows it)."


# --- what a declared incident gets ------------------------------------------------------------------------


def _severity(integration: Integration, group_in: GroupIn, firing: list[AlertIn]):
    """The most severe level any firing alert maps to, and why."""
    if group_in.severity_value is not None:
        return integration.severity_for(group_in.severity_value)
    values = dict.fromkeys(a.labels.get(integration.severity_label, "") for a in firing)
    found = [integration.severity_for(v) for v in values]
    found = [f for f in found if f[0] is not None] or found[:1]
    return min(found, key=lambda f: f[0].rank if f[0] else 0)


def _service(integration: Integration, group_in: GroupIn, firing: list[AlertIn]) -> Service | None:
    names = [group_in.service_name, *(a.labels.get("service") or a.labels.get("job") or "" for a in firing)]
    for name in dict.fromkeys(n.strip() for n in names if n and n.strip()):
        service = Service.objects.filter(name__iexact=name).first()
        if service is not None:
            return service
    return integration.default_service


_RUNBOOK_PATH = re.compile(r"/runbooks/([-a-zA-Z0-9_]+)/?(?:[?#].*)?$")


def _runbooks(group_in: GroupIn, firing: list[AlertIn], service: Service | None) -> list[tuple[Runbook, str]]:
    """Runbooks to attach: one named by a runbook_url into this console, then strong matches (an alert name the
    runbook answers, or one of its error patterns in the alert's text)."""
    chosen: dict[int, tuple[Runbook, str]] = {}
    for a in firing:
        url = a.annotations.get("runbook_url") or a.annotations.get("runbook") or ""
        if match := _RUNBOOK_PATH.search(url):
            runbook = Runbook.objects.filter(slug=match.group(1)).first()
            if runbook is not None:
                chosen.setdefault(runbook.pk, (runbook, "runbook_url"))
    first = firing[0]
    names = " ".join(dict.fromkeys(a.name for a in firing if a.name))
    texts = [group_in.annotations.get("summary", ""), group_in.annotations.get("description", ""), group_in.details]
    for a in firing[:20]:
        texts += [a.annotations.get(k, "") for k in ("summary", "description", "message", "error")]
    query = "\n".join(dict.fromkeys(t for t in [names, *texts] if t))
    labels = {**group_in.labels, **first.labels}
    if not labels.get("service"):
        labels["service"] = service.name if service else labels.get("job", "")
    for m in match_runbooks(query, labels=labels, limit=RUNBOOKS_ATTACHED + len(chosen)):
        if m.score >= SCORE_PATTERN and len(chosen) < RUNBOOKS_ATTACHED:
            chosen.setdefault(m.runbook.pk, (m.runbook, ", ".join(m.reasons[:2])))
    return list(chosen.values())


def _summary(group_in: GroupIn, firing: list[AlertIn]) -> str:
    lines = []
    for key in ("summary", "description"):
        if group_in.annotations.get(key) and group_in.annotations[key] not in lines:
            lines.append(group_in.annotations[key])
    if group_in.details and group_in.details not in lines:
        lines.append(group_in.details)
    lines.append("")
    lines.append(f"Alerts firing when declared ({len(firing)}"
                 + (f", and {group_in.truncated} left out by Alertmanager" if group_in.truncated else "") + "):")
    for a in firing[:50]:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()) if k != "alertname")[:300]
        lines.append(f"- {a.name or a.fingerprint}" + (f" {{{shown}}}" if shown else "")
                     + (f" — {a.summary}" if a.summary else ""))
    for link in [*group_in.links, *(a.generator_url for a in firing[:5] if a.generator_url)][:10]:
        lines.append(f"Link: {link}")
    if group_in.external_url:
        lines.append(f"Sent by {group_in.external_url}")
    return "\n".join(lines)[:20_000]


def _alerts_phrase(alerts: list[AlertIn]) -> str:
    if len(alerts) == 1:
        a = alerts[0]
        return f"Alert {a.name or a.fingerprint}" + (f" ({a.summary[:120]})" if a.summary and a.summary != a.name
                                                      else "")
    names = list(dict.fromkeys(a.name or a.fingerprint for a in alerts))
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"{len(alerts)} alerts ({shown})"


def _event_data(integration: Integration, group: AlertGroup, alerts: list[AlertIn]) -> dict:
    return {"integration": integration.pk, "group": group.pk,
            "fingerprints": [a.fingerprint for a in alerts[:100]]}
