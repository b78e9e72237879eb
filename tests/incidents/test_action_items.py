"""Action items: raised with an owner and a due date by severity, closed with a reason, listed, offered to close."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.models import ActionItem, EventKind, IncidentError, Postmortem
from tests.conftest import make_user
from tests.incidents.timings import build

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def incident(commander, responder):
    return build(commander, responder)  # SEV1 by the end


def new_item(incident, owner, by, **extra):
    return ActionItem.raise_item(incident, description=extra.pop("description", "Alert on queue depth"), owner=owner,
                                 due_date=extra.pop("due_date", None), by=by, **extra)


def test_the_due_date_defaults_by_severity(incident, responder, commander):
    item = new_item(incident, responder, commander)
    assert item.due_date == timezone.localdate() + timedelta(days=7)  # SEV1
    from runbooks.models import SeverityLevel

    assert ActionItem.default_due_date(SeverityLevel.objects.get(name="SEV3"), date(2026, 12, 1)) == date(2026, 12, 31)
    event = incident.timeline.filter(kind=EventKind.ACTION).get()
    assert event.message.startswith("Action item for rosa, due ") and event.message.endswith(": Alert on queue depth")


@pytest.mark.parametrize(("extra", "message"), [
    ({"description": "   "}, "Describe what is to be done."),
    ({"due_date": date(2020, 1, 1)}, "The due date 01 Jan 2020 is in the past; choose today or later."),
    ({"priority": 9}, "Choose high, medium or low priority."),
])
def test_bad_items_are_refused_with_a_reason(incident, responder, commander, extra, message):
    with pytest.raises(IncidentError, match=message):
        new_item(incident, responder, commander, **extra)
    assert not ActionItem.objects.exists()


def test_an_owner_must_be_an_active_user(incident, commander):
    gone = make_user("gone", None, is_active=False)
    for owner in (None, gone):
        with pytest.raises(IncidentError, match="Give the item an owner: a person with an account on the console."):
            new_item(incident, owner, commander)


def test_the_form_adds_an_item_and_says_what_is_wrong(as_user, incident, responder):
    client = as_user(responder)
    add = reverse("incidents:action_new", args=[incident.pk])
    response = client.post(add, {"description": "Page the DBA", "owner": 999999, "priority": 2})
    page = response.content.decode()
    assert response.status_code == 400
    assert "That owner is not a user of the console; choose one from the list." in page
    assert 'value="Page the DBA"' in page  # what they typed is still there
    page = client.post(add, {"description": "Page the DBA", "owner": responder.pk, "priority": 2,
                             "due_date": "2020-01-01"}, **HTMX).content.decode()
    assert "is in the past; choose today or later." in page
    page = client.post(add, {"description": "Page the DBA", "owner": responder.pk, "priority": 2,
                             "due_date": "31/12/2026"}, **HTMX).content.decode()
    assert "Give the due date as a date, e.g. 2026-12-24." in page
    assert not ActionItem.objects.exists()
    page = client.post(add, {"description": "Page the DBA", "owner": responder.pk, "priority": 1}, **HTMX)
    assert "Page the DBA" in page.content.decode() and ActionItem.objects.get().priority == 1


def test_not_doing_needs_a_reason_and_done_items_can_reopen(incident, responder, commander):
    item = new_item(incident, responder, commander)
    with pytest.raises(IncidentError, match="Say why it is not being done."):
        item.decline(by=responder, reason="")
    item.decline(by=responder, reason="the queue is being replaced")
    item.refresh_from_db()
    assert item.status == "not_doing" and item.reason == "the queue is being replaced" and item.closed_by == responder
    with pytest.raises(IncidentError, match="is already not doing"):
        item.complete(by=responder)
    item.reopen(by=commander)
    item.complete(by=responder)
    assert ActionItem.objects.get().status == "done"


def test_an_owner_changes_their_own_item_but_a_viewer_cannot_change_others(as_user, incident, commander, viewer):
    mine = new_item(incident, viewer, commander, description="Viewer's own item")
    other = new_item(incident, commander, commander, description="Someone else's")
    client = as_user(viewer)
    url = reverse("incidents:action_item", args=[incident.pk, mine.pk])
    assert client.post(url, {"action": "done"}).status_code == 302
    assert ActionItem.objects.get(pk=mine.pk).status == "done"
    assert client.post(reverse("incidents:action_item", args=[incident.pk, other.pk]),
                       {"action": "done"}).status_code == 403
    page = as_user(commander).post(reverse("incidents:action_item", args=[incident.pk, other.pk]),
                                   {"action": "explode"}, follow=True).content.decode()
    assert "Choose done, not doing or reopen." in page


def test_an_item_for_a_runbook_offers_to_close_itself_when_the_runbook_has_a_new_version(as_user, incident,
                                                                                          commander):
    runbook = incident.runbooks.get().runbook
    item = new_item(incident, commander, commander, description="Say which bastion has kubectl", runbook=runbook)
    client = as_user(commander)
    assert "has a new version" not in client.get(reverse("followup:actions")).content.decode()
    with transaction.atomic():
        step = runbook.steps.get(order=1)
        step.text = "Restart the consumers (from bastion-2, which has kubectl)"
        step.save()
        runbook.record_version(by=commander)
    page = client.get(reverse("followup:actions")).content.decode()
    assert "“Queue backlog” has a new version (v2) since this item was raised (v1)." in page
    response = client.post(reverse("incidents:action_item", args=[incident.pk, item.pk]),
                           {"action": "runbook", "from": "list", "next": "/actions/"}, **HTMX)
    assert "Done" in response.content.decode()
    item.refresh_from_db()
    assert item.status == "done" and item.reason == "closed by v2 of “Queue backlog”"


def test_a_published_postmortem_takes_no_new_items_but_its_items_still_close(incident, commander, commander2):
    item = new_item(incident, commander, commander)
    postmortem = Postmortem.generate(incident, by=commander)
    postmortem.move("in_review", by=commander)
    postmortem.move("published", by=commander2)
    with pytest.raises(IncidentError, match="its action items can be closed, not added"):
        new_item(incident, commander, commander)
    item.complete(by=commander)


def test_the_dashboard_shows_open_and_overdue_items(as_user, incident, commander, responder, viewer):
    new_item(incident, responder, commander, description="Overdue one")
    ActionItem.objects.filter(description="Overdue one").update(due_date=timezone.localdate() - timedelta(days=2))
    new_item(incident, responder, commander, description="Due later")
    done = new_item(incident, responder, commander, description="Finished one")
    done.complete(by=responder)
    client = as_user(viewer)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert 'hx-get="/actions/summary/"' in dashboard and 'href="/actions/"' in dashboard
    summary = client.get(reverse("followup:actions_summary"), **HTMX).content.decode()
    assert "2 open" in summary and "1 overdue" in summary
    assert summary.index("Overdue one") < summary.index("Due later") and "Finished one" not in summary
    assert client.get(reverse("followup:actions_summary")).status_code == 302  # a plain visit goes to /actions/


def test_the_actions_page_filters(as_user, incident, commander, responder):
    new_item(incident, responder, commander, description="Rosa's item")
    new_item(incident, commander, commander, description="Cora's item")
    client = as_user(responder)
    mine = client.get(reverse("followup:actions") + "?show=mine").content.decode()
    assert "Rosa&#x27;s item" in mine and "Cora&#x27;s item" not in mine
    bad = client.get(reverse("followup:actions") + "?show=everything").content.decode()
    assert "“everything” is not a filter; showing the open items." in bad and "Cora&#x27;s item" in bad


def test_the_actions_page_costs_the_same_queries_with_3_and_40_items(as_user, incident, commander, responder):
    client = as_user(commander)
    for n in range(3):
        new_item(incident, responder, commander, description=f"item {n}", runbook=incident.runbooks.get().runbook)
    client.get(reverse("followup:actions"))  # a session's first read finds the user; later ones reuse it
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("followup:actions"))
    for n in range(37):
        new_item(incident, responder, commander, description=f"more {n}", runbook=incident.runbooks.get().runbook)
    with CaptureQueriesContext(connection) as large:
        page = client.get(reverse("followup:actions")).content.decode()
    assert page.count('class="action-item') == 40
    assert len(large) == len(small)
