"""Declaring from what you have: one box, suggestions ticked when they matched strongly, the incident to join."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import Alert, AlertGroup, Incident, Integration
from tests.factories import make_runbook, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture
def sev(db):
    return make_severities()


@pytest.fixture
def runbook(db):
    return make_runbook("Checkout latency high", alerts=["CheckoutLatencyHigh"], patterns=["upstream timed out"],
                        steps=[("triage", "Confirm p99 latency", [])])


def suggest(client, **data):
    return client.get(reverse("incidents:declare_suggest"), data, HTTP_HX_REQUEST="true").content.decode()


def test_the_page_opens_with_the_cursor_in_the_one_box(as_user, responder, sev):
    page = as_user(responder).get(reverse("incidents:declare")).content.decode()
    box = page.split('id="id_symptoms"')[1].split(">")[0]
    assert "autofocus" in box and "paste an error, an alert name or describe what you see" in box.lower()
    title = page.split('id="id_title"')[1].split(">")[0]
    assert "required" not in title and "optional" in page


def test_suggestion_requests_never_carry_the_csrf_token(as_user, responder, sev):
    client = as_user(responder)
    page = client.get(reverse("incidents:declare")).content.decode()
    assert page.count('hx-params="not csrfmiddlewaretoken"') == 2
    response = client.get(reverse("incidents:declare_suggest"), {"symptoms": "x", "csrfmiddlewaretoken": "abc"})
    assert response.status_code == 302 and "csrfmiddlewaretoken" not in response["Location"]
    assert "symptoms=x" in response["Location"]


@pytest.mark.parametrize("text", ["CheckoutLatencyHigh", "nginx: upstream timed out (110) while reading"])
def test_a_strong_match_is_ticked_for_you(as_user, responder, runbook, text):
    page = suggest(as_user(responder), symptoms=text)
    assert f'value="{runbook.pk}" checked' in page and "Ticked for you" in page


def test_a_match_on_words_alone_is_offered_not_ticked(as_user, responder, runbook):
    page = suggest(as_user(responder), symptoms="checkout latency seems high today")
    assert f'value="{runbook.pk}"' in page and f'value="{runbook.pk}" checked' not in page


def test_a_runbook_you_unticked_stays_unticked_while_you_type(as_user, responder, runbook):
    client = as_user(responder)
    page = suggest(client, symptoms="upstream timed out", auto=runbook.pk)  # ticked before, unticked now
    assert f'value="{runbook.pk}" checked' not in page and f'name="declined" value="{runbook.pk}"' in page
    page = suggest(client, symptoms="upstream timed out again", declined=runbook.pk)
    assert f'value="{runbook.pk}" checked' not in page


def test_without_a_title_it_is_made_from_the_alert_name(as_user, commander, sev, runbook):
    as_user(commander).post(reverse("incidents:declare"), {
        "symptoms": "firing: CheckoutLatencyHigh p99=4s", "severity": sev[1].pk, "runbooks": [runbook.pk]})
    incident = Incident.objects.get()
    assert incident.title == "CheckoutLatencyHigh" and incident.checklist.count() == 1


def test_without_a_title_it_is_made_from_the_first_line_cut_at_a_word(as_user, commander, sev):
    text = "\n  " + "Payments fail for card holders in Europe " * 6 + "\nstack trace follows"
    as_user(commander).post(reverse("incidents:declare"), {"symptoms": text, "severity": sev[1].pk})
    title = Incident.objects.get().title
    assert title.startswith("Payments fail for card holders") and title.endswith("…") and len(title) <= 121
    assert "stack trace" not in title


def test_an_open_incident_on_the_same_runbook_is_offered_to_join(as_user, responder, commander, sev, runbook):
    open_one = Incident.declare(title="Shop slow", severity=sev[1], by=commander, runbooks=[runbook])
    resolved = Incident.declare(title="Older", severity=sev[1], by=commander, runbooks=[runbook])
    resolved.transition("resolved", by=commander)
    page = suggest(as_user(responder), symptoms="upstream timed out")
    assert "Join it instead" in page and open_one.get_absolute_url() in page
    assert resolved.get_absolute_url() not in page


def test_an_open_incident_with_a_similar_title_is_offered_to_join(as_user, responder, commander, sev):
    open_one = Incident.declare(title="Search results empty for everyone", severity=sev[2], by=commander)
    page = suggest(as_user(responder), symptoms="search results are empty")
    assert open_one.get_absolute_url() in page and "much like what you wrote" in page
    assert "Join it instead" not in suggest(as_user(responder), symptoms="disk full on db-3")


def test_an_open_incident_the_same_alert_fires_on_is_offered_to_join(as_user, responder, sev, runbook):
    incident = Incident.declare(title="Something odd", severity=sev[1], by=None, source="alert")
    integration = Integration.objects.create(name="am")
    group = AlertGroup.objects.create(integration=integration, group_key="g", key_hash="h", incident=incident)
    Alert.objects.create(integration=integration, group=group, incident=incident, fingerprint="f",
                         starts_at=incident.declared_at, name="CheckoutLatencyHigh")
    page = suggest(as_user(responder), symptoms="CheckoutLatencyHigh")
    assert incident.get_absolute_url() in page and "alert CheckoutLatencyHigh is firing on it" in page


def test_suggestions_cost_the_same_queries_however_many_incidents_are_open(
        as_user, responder, commander, sev, runbook, django_assert_max_num_queries):
    client = as_user(responder)
    suggest(client, symptoms="upstream timed out")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        suggest(client, symptoms="upstream timed out")
    for n in range(15):
        Incident.declare(title=f"Checkout slow {n}", severity=sev[1], by=commander, runbooks=[runbook])
    with django_assert_max_num_queries(len(few)):
        suggest(client, symptoms="upstream timed out")


def test_the_symptoms_given_at_declare_are_shown_on_the_incident_page_not_folded(as_user, commander, sev):
    as_user(commander).post(reverse("incidents:declare"), {
        "title": "Checkout errors", "symptoms": "HTTP 502 from checkout <b>since</b> 07:40", "severity": sev[1].pk})
    page = as_user(commander).get(Incident.objects.get().get_absolute_url()).content.decode()
    shown = page.split('class="incident-summary"')[1].split("</div>")[0]
    assert "HTTP 502 from checkout &lt;b&gt;since&lt;/b&gt; 07:40" in shown
    assert '<details class="incident-summary"' not in page and '<div class="incident-summary">' in page
