"""/severity/ (matrix, whom each level notifies, the questionnaire) and /escalation/ (whom to call now)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from runbooks.models import SeverityLevel
from runbooks.severity import suggest
from tests.factories import make_service, make_severities
from tests.paging_factories import make_person, make_policy, make_rotation, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(db):
    sev = make_severities()
    ana = make_person("Ana Oncall", phone="+1 555 0100", handle="@ana", chat_url="https://chat.example.com/ana")
    ben = make_person("Ben Backup")
    rotation = make_rotation("Checkout primary", [ana, ben], handoff_at=timezone.now() - timedelta(hours=2))
    team = make_team("Checkout team", members=[ana, ben], email="checkout@example.com")
    service = make_service("checkout-api")
    service.owner = team
    service.save()
    rotation.team = team
    rotation.save()
    make_policy(sev[0], [(5, [rotation]), (10, [make_person("Vic Manager")])], service=service,
                name="Checkout SEV1", repeat=1)
    make_policy(sev[0], [(15, [team])], name="General SEV1")
    return {"sev": sev, "ana": ana, "service": service}


def get(client, user, name, params=None):
    client.force_login(user)
    response = client.get(reverse(name), params or {})
    assert response.status_code == 200
    return response.content.decode()


def test_the_old_severity_address_redirects_to_the_new_one(client, viewer):
    client.force_login(viewer)
    response = client.get("/runbooks/severity/?users=most")
    assert response.status_code == 302 and response["Location"] == "/severity/?users=most"


def test_the_severity_page_shows_levels_aliases_response_and_whom_each_notifies(client, viewer, setup):
    html = " ".join(get(client, viewer, "oncall:severity").split())
    assert '<span class="sev sev-0">SEV1</span>' in html and "also Critical, P1" in html and "15 min" in html
    assert "e.g. SEV1 example" in html
    assert "checkout-api:</span> on call: Checkout primary" in html and ", then 1 more tier" in html
    assert "Checkout team" in html


@pytest.mark.parametrize(("answers", "level", "reason"), [
    ({"data": "yes"}, "SEV1", "Data is lost or corrupted."),
    ({"users": "most", "workaround": "no"}, "SEV1", "Most users are affected and cannot work around it."),
    ({"users": "some", "workaround": "yes"}, "SEV3", "Some users are affected, with a workaround."),
    ({"users": "none", "data": "no", "money": "no", "security": "no"}, "SEV4", "No user is affected."),
    ({"money": "yes", "users": "some", "workaround": "yes"}, "SEV2", "Money is being lost."),
    ({"users": "some", "workaround": "unsure"}, "SEV2", "Not sure about “can users work around it”"),
    ({"security": "unsure", "users": "none"}, "SEV1", "Security is at stake."),
])
def test_the_questionnaire_suggests_a_level_and_says_why(client, viewer, setup, answers, level, reason):
    html = get(client, viewer, "oncall:severity", answers)
    assert 'Suggested: <span class="sev' in html and f">{level}</span>" in html
    assert reason in html


def test_unsure_answers_suggest_the_higher_level():
    levels = list(SeverityLevel.objects.all()) or make_severities()
    sure = suggest({"users": "some", "workaround": "yes"}, levels)
    unsure = suggest({"users": "unsure", "workaround": "yes"}, levels)
    assert unsure.level.rank < sure.level.rank


def test_the_questionnaire_fragment_answers_htmx_and_bad_answers_are_named(client, viewer, setup):
    client.force_login(viewer)
    response = client.get(reverse("oncall:severity_suggest"), {"users": "<script>", "data": "yes"},
                          HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<h1>" not in html
    assert "“&lt;script&gt;” is not an answer to “How many users are affected?”" in html and "SEV1" in html


def test_a_three_level_matrix_puts_the_mildest_answers_on_its_lowest_level():
    levels = [SeverityLevel(name=n, rank=r) for r, n in enumerate(["High", "Medium", "Low"])]
    assert suggest({"users": "none"}, levels).level.name == "Low"
    assert suggest({}, levels).level is None


def test_the_declare_page_offers_the_questionnaire(client, responder, setup):
    html = get(client, responder, "incidents:declare")
    assert "Not sure of the severity?" in html and reverse("oncall:severity_suggest") in html


def test_the_lookup_shows_whom_to_call_now_with_links_and_the_next_tier(client, viewer, setup):
    html = get(client, viewer, "oncall:escalation", {"service": "checkout-api", "severity": "critical"})
    assert "Checkout SEV1" in html
    assert 'href="tel:+15550100"' in html and 'href="mailto:ana@example.com"' in html
    assert 'href="https://chat.example.com/ana"' in html
    assert "on call in Checkout primary" in html and "then Ben Backup" in html
    assert "If nobody acknowledges within 5 min: <strong>Tier 2</strong>" in html and "Vic Manager" in html


def test_the_dry_run_lists_every_firing_with_its_minute(client, viewer, setup):
    html = get(client, viewer, "oncall:escalation", {"service": "checkout-api", "severity": "SEV1"})
    rows = html.split('<table class="dry-run">')[1].split("</table>")[0]
    minutes = [cell.split("</td>")[0] for cell in rows.split("<td>+")[1:]]
    assert minutes == ["0", "5", "15", "20"]  # tier 1, tier 2, then both again (repeat 1)


def test_without_a_service_policy_the_lookup_uses_the_severity_policy(client, viewer, setup):
    html = get(client, viewer, "oncall:escalation", {"severity": "SEV1"})
    assert "General SEV1" in html and 'href="mailto:checkout@example.com"' in html


@pytest.mark.parametrize(("params", "message"), [
    ({"severity": "SEV9"}, "No severity level is called “SEV9”"),
    ({"severity": "SEV1", "service": "<b>nope</b>"}, "No service is called “&lt;b&gt;nope&lt;/b&gt;”"),
    ({"severity": "x" * 5000}, "No severity level is called"),
])
def test_bad_lookup_parameters_are_named_never_a_500(client, viewer, setup, params, message):
    html = get(client, viewer, "oncall:escalation", params)
    assert message in html and "<b>nope</b>" not in html


def test_no_policy_says_whom_to_call_instead(client, viewer, setup):
    html = get(client, viewer, "oncall:escalation", {"severity": "SEV4", "service": "checkout-api"})
    assert "No escalation policy" in html and "checkout@example.com" in html


def _queries(client, name, params):
    client.get(reverse(name), params)  # a session's first read finds the user; later ones reuse it
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse(name), params).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(("name", "params"), [
    ("oncall:severity", {}), ("oncall:escalation", {"severity": "SEV1", "service": "checkout-api"})])
def test_the_pages_run_a_constant_number_of_queries(client, viewer, setup, name, params):
    client.force_login(viewer)
    small = _queries(client, name, params)
    for i in range(10):
        person = make_person(f"Extra {i}")
        make_service(f"svc-{i}").contacts.add(person)
        make_policy(setup["sev"][1], [(5, [person])], name=f"Extra policy {i}", service=make_service(f"svc-{i}"))
    assert _queries(client, name, params) == small
