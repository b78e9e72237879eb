"""The runbook pages as a viewer sees them: list and search, detail, history, diff, matching, severity."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from runbooks.models import (
    Command,
    Contact,
    EscalationPolicy,
    EscalationTier,
    Runbook,
    Step,
)
from tests.factories import make_runbook, make_service, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture
def runbook(db):
    service = make_service("checkout-api")
    service.owner = Contact.objects.create(name="Checkout team", kind="team", channel="#checkout")
    service.save()
    service.contacts.add(Contact.objects.create(name="Dana On-call", role="Primary", phone="+1-555-0100"))
    return make_runbook(
        "Checkout latency high", service=service, alerts=["CheckoutLatencyHigh"], patterns=["upstream timed out"],
        key="RB-7",
        steps=[
            ("mitigation", "Restart the deployment", ["kubectl rollout restart deploy/checkout -n <namespace>"]),
            ("detection", "Confirm p99 latency on the dashboard", []),
            ("investigation", "Drop the stale cache table", ["DROP TABLE cache_<shard>;"]),
        ],
    )


def test_list_shows_runbooks_with_their_facts(client, viewer, runbook):
    client.force_login(viewer)
    html = client.get(reverse("runbooks:list")).content.decode()
    assert "Checkout latency high" in html and "RB-7" in html and "checkout-api" in html
    assert "CheckoutLatencyHigh" in html and "v1" in html


def test_search_and_filters_narrow_the_list(client, viewer, runbook):
    make_runbook("Disk full on a node", alerts=["NodeDiskPressure"])
    client.force_login(viewer)
    url = reverse("runbooks:list")
    assert "Disk full" not in client.get(url, {"q": "checkout"}).content.decode()
    page = client.get(url, {"service": "checkout-api"}).content.decode()
    assert "Checkout latency high" in page and "Disk full on a node" not in page
    page = client.get(url, {"alert": "NodeDiskPressure"}).content.decode()
    assert "Disk full on a node" in page and "Checkout latency high" not in page


def test_htmx_search_returns_only_the_results_fragment(client, viewer, runbook):
    client.force_login(viewer)
    response = client.get(reverse("runbooks:list"), {"q": "latency"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="results"') and "<html" not in html
    assert "Checkout latency high" in html


@pytest.mark.parametrize("params", [
    {"q": "x" * 400}, {"q": "'\"&<>\\`"}, {"service": "no-such-service"}, {"alert": "<script>"},
    {"page": "abc"}, {"page": "99999"}, {"page": "-1"}, {"q": "disk OR -"},
])
def test_bad_list_input_is_a_page_not_an_error(client, viewer, runbook, params):
    client.force_login(viewer)
    response = client.get(reverse("runbooks:list"), params)
    assert response.status_code == 200
    assert "<script>" not in response.content.decode().split("<main", 1)[1]


def test_an_unknown_service_filter_says_so(client, viewer, runbook):
    client.force_login(viewer)
    html = client.get(reverse("runbooks:list"), {"service": "ghost"}).content.decode()
    assert "No service is called “ghost”" in html and "Checkout latency high" not in html


def test_the_list_is_paginated(client, viewer, db):
    for n in range(30):
        make_runbook(f"Runbook {n:02d}", steps=[])
    client.force_login(viewer)
    first = client.get(reverse("runbooks:list")).content.decode()
    second = client.get(reverse("runbooks:list"), {"page": 2}).content.decode()
    assert "Runbook 00" in first and "Runbook 29" not in first
    assert "Runbook 29" in second and "Page 2 of 2" in second


def test_detail_shows_steps_in_phase_order_with_highlighted_commands(client, viewer, runbook):
    client.force_login(viewer)
    html = client.get(runbook.get_absolute_url()).content.decode()
    assert html.index("Detection") < html.index("Investigation") < html.index("Mitigation")
    assert '<span class="param" title="parameter namespace">&lt;namespace&gt;</span>' in html
    assert 'data-copy="cmd-' in html
    assert "Checkout team" in html and "+1-555-0100" in html and "upstream timed out" in html


def test_destructive_commands_are_marked(client, viewer, runbook):
    client.force_login(viewer)
    html = client.get(runbook.get_absolute_url()).content.decode()
    drop = html.index("DROP TABLE")
    assert "destructive" in html[html.rfind('<div class="command', 0, drop):drop]
    assert '<span class="badge badge-danger">destructive</span>' in html


def test_checkbox_steps_render_as_a_checklist(client, viewer, runbook):
    Step.objects.filter(runbook=runbook, phase="detection").update(checkbox=True)
    client.force_login(viewer)
    html = client.get(runbook.get_absolute_url()).content.decode()
    assert 'class="checklist rb-steps"' in html and 'type="checkbox"' in html


def test_the_markdown_body_escapes_raw_html_and_drops_javascript_links(client, viewer, runbook):
    runbook.body_markdown = '<script>alert(1)</script>\n\n[click me](javascript:alert(2)) and [ok](https://x.test)'
    runbook.save()
    client.force_login(viewer)
    html = client.get(runbook.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html and "click me" in html
    assert '<a href="https://x.test">ok</a>' in html


def test_command_text_is_escaped(client, viewer, runbook):
    step = runbook.steps.first()
    Command.objects.create(step=step, order=9, text='echo "<b>hi</b>" && curl "<url>"')
    client.force_login(viewer)
    html = client.get(runbook.get_absolute_url()).content.decode()
    assert "<b>hi</b>" not in html and "&lt;b&gt;hi&lt;/b&gt;" in html
    assert '<span class="param" title="parameter url">&lt;url&gt;</span>' in html


def test_declare_button_only_for_people_who_may_declare(client, viewer, responder, runbook):
    declare = f"{reverse('incidents:declare')}?runbook={runbook.slug}"
    client.force_login(viewer)
    assert declare not in client.get(runbook.get_absolute_url()).content.decode()
    client.force_login(responder)
    assert declare in client.get(runbook.get_absolute_url()).content.decode()


def _new_version(runbook, **changes):
    with transaction.atomic():
        for field, value in changes.items():
            setattr(runbook, field, value)
        runbook.save()
        Step.objects.create(runbook=runbook, order=10, phase="verification", text="Latency back under 300 ms")
        runbook.record_version(note="added a check")


def test_history_and_diff_show_what_changed(client, viewer, runbook):
    _new_version(runbook, summary="When p99 latency of checkout is above 2 s")
    client.force_login(viewer)
    html = client.get(reverse("runbooks:versions", args=[runbook.slug])).content.decode()
    assert "v2" in html and "added a check" in html and "created by a test" in html
    assert reverse("runbooks:diff", args=[runbook.slug, 1, 2]) in html
    diff = client.get(reverse("runbooks:diff", args=[runbook.slug, 1, 2])).content.decode()
    assert '<span class="diff-add">+ ' in diff and "Latency back under 300 ms" in diff
    assert "When p99 latency of checkout is above 2 s" in diff
    back = client.get(reverse("runbooks:diff", args=[runbook.slug, 2, 1])).content.decode()
    assert '<span class="diff-del">- ' in back


def test_compare_form_redirects_to_the_diff(client, viewer, runbook):
    _new_version(runbook)
    client.force_login(viewer)
    response = client.get(reverse("runbooks:versions", args=[runbook.slug]), {"a": "1", "b": "2"})
    assert response.status_code == 302 and response["Location"] == reverse("runbooks:diff", args=[runbook.slug, 1, 2])
    assert client.get(reverse("runbooks:versions", args=[runbook.slug]), {"a": "x", "b": "2"}).status_code == 404


@pytest.mark.parametrize("a,b", [(1, 7), (9, 1), (0, 1)])
def test_unknown_versions_are_404(client, viewer, runbook, a, b):
    client.force_login(viewer)
    assert client.get(reverse("runbooks:diff", args=[runbook.slug, a, b])).status_code == 404


def test_unknown_runbooks_are_404(client, viewer, db):
    client.force_login(viewer)
    assert client.get(reverse("runbooks:detail", args=["nope"])).status_code == 404
    assert client.get(reverse("runbooks:versions", args=["nope"])).status_code == 404
    assert client.get(reverse("runbooks:diff", args=["nope", 1, 2])).status_code == 404


def test_match_page_ranks_with_scores_and_reasons(client, viewer, runbook):
    make_runbook("Disk full on a node", alerts=["NodeDiskPressure"])
    client.force_login(viewer)
    html = client.get(reverse("runbooks:match"), {"q": "nginx: upstream  Timed Out while reading"}).content.decode()
    assert "Checkout latency high" in html and "Disk full on a node" not in html
    assert "error pattern “upstream timed out” found in your text" in html
    html = client.get(reverse("runbooks:match"), {"q": "CheckoutLatencyHigh"}).content.decode()
    assert "alert name CheckoutLatencyHigh" in html


@pytest.mark.parametrize("q", ["", "'\"&<>\\`", "x" * 30000, "<script>alert(1)</script>"])
def test_match_page_survives_odd_input(client, viewer, runbook, q):
    client.force_login(viewer)
    response = client.get(reverse("runbooks:match"), {"q": q, "service": "s" * 300})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_severity_page_shows_the_matrix_escalation_and_who_to_call(client, viewer, runbook):
    levels = make_severities()
    policy = EscalationPolicy.objects.create(name="SEV1 escalation", severity=levels[0])
    tier = EscalationTier.objects.create(policy=policy, order=0, delay_minutes=15, action="Page the on-call")
    tier.contacts.add(Contact.objects.get(name="Dana On-call"))
    EscalationTier.objects.create(policy=policy, order=1, notify_names=["VP Engineering"], action="Call the VP")
    client.force_login(viewer)
    html = client.get(reverse("oncall:severity")).content.decode()
    assert '<span class="sev sev-0">SEV1</span>' in html and "Critical, P1" in html and "15 min" in html
    assert "4 h" in html  # SEV3: 240 minutes
    assert "Page the on-call" in html and "VP Engineering" in html and "Dana On-call" in html
    assert "Checkout team" in html


# --- constant query counts ------------------------------------------------------------------------

def _grow(n: int) -> None:
    service = make_service("billing")
    for i in range(n):
        make_runbook(f"Bulk runbook {i:03d}", service=service, alerts=[f"BulkAlert{i}"], patterns=[f"bulk error {i}"])


def _count_queries(client, url, params=None):
    """Queries of a read once the user is remembered (accounts/memo.py), as every read after a session's first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, params or {})
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["list", "list-q", "detail", "versions", "match", "severity"])
def test_pages_run_a_constant_number_of_queries(client, viewer, runbook, page):
    make_severities()
    client.force_login(viewer)
    urls = {
        "list": (reverse("runbooks:list"), None),
        "list-q": (reverse("runbooks:list"), {"q": "runbook", "service": "billing"}),
        "detail": (runbook.get_absolute_url(), None),
        "versions": (reverse("runbooks:versions", args=[runbook.slug]), None),
        "match": (reverse("runbooks:match"), {"q": "BulkAlert3 bulk error 4 runbook"}),
        "severity": (reverse("oncall:severity"), None),
    }
    url, params = urls[page]
    _grow(5)
    small = _count_queries(client, url, params)
    _grow_more = Runbook.objects.count()
    service = make_service("billing")
    for i in range(55):
        make_runbook(f"More runbook {i:03d}", service=service, alerts=[f"MoreAlert{i}"], patterns=[f"more error {i}"])
    for i in range(8):
        contact = Contact.objects.create(name=f"Person {i}")
        service.contacts.add(contact)
    assert Runbook.objects.count() == _grow_more + 55
    assert _count_queries(client, url, params) == small
