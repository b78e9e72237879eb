"""Response metrics: medians and p90 from impact started, compliance, edited milestones, filters, CSV, queries."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import metrics
from incidents.models import Incident, Status
from tests.factories import make_service, make_severities

pytestmark = pytest.mark.django_db


@pytest.fixture
def sev(db):
    return make_severities()


def make(sev_level, *, tta=None, ttm=None, ttr=None, days_ago=3, impact_early=0, service=None, edits=None,
         title="incident"):
    declared = timezone.now() - timedelta(days=days_ago)
    impact = declared - timedelta(minutes=impact_early)
    minutes = {k: impact + timedelta(minutes=v) if v is not None else None for k, v in
               (("acknowledged_at", tta), ("mitigated_at", ttm), ("resolved_at", ttr))}
    return Incident.objects.create(title=title, severity=sev_level, service=service, declared_at=declared,
                                   impact_started_at=impact, status=Status.RESOLVED if ttr else Status.INVESTIGATING,
                                   milestone_edits=edits or {}, **minutes)


@pytest.fixture
def known(sev):
    checkout, search = make_service("checkout"), make_service("search")
    make(sev[0], tta=5, ttm=20, ttr=60, service=checkout)
    make(sev[0], tta=10, ttm=None, ttr=45, service=checkout, impact_early=4)  # mitigated = resolved
    edited = make(sev[0], tta=30, ttm=50, ttr=120, service=search)
    edited.milestone_edits = {"impact_started": {"at": edited.impact_started_at.isoformat(), "reason": "x"}}
    edited.save()
    make(sev[0], days_ago=0, service=search)  # open, not acknowledged 0 s in: not judged yet
    make(sev[1], tta=20, ttm=40, ttr=90)
    make(sev[1], tta=40, ttm=41, ttr=200, edits={"resolved": {"at": "2020-01-01T00:00:00+00:00"}})  # stale edit
    make(sev[1], days_ago=200, tta=1, ttm=1, ttr=1)  # outside the default 90 days
    return sev


def figures_of(report, group):
    return next(f for f in report.totals if f.group == group)


def test_medians_p90_and_compliance_from_impact_started(known):
    report = metrics.report(metrics.parse_filters({}))
    sev1, sev2, every = figures_of(report, "SEV1"), figures_of(report, "SEV2"), figures_of(report, "All incidents")
    assert (sev1.count, sev2.count, every.count) == (4, 2, 6)
    assert sev1.median == {"tta": 600.0, "ttm": 2700.0, "ttr": 3600.0}
    assert sev1.p90 == {"tta": 1800, "ttm": 3000, "ttr": 7200}  # nearest rank: the 3rd of 3
    assert sev2.median["tta"] == 1800.0 and sev2.p90["tta"] == 2400  # (20 + 40) / 2, then the 2nd of 2
    assert sev1.compliance("tta") == 66.7 and sev2.compliance("tta") == 50.0  # 15 and 30 min response
    assert sev1.compliance("ttr") == 0.0
    assert (sev1.edited, sev2.edited, every.edited) == (1, 0, 1)


def test_an_open_incident_past_its_response_time_counts_as_missed(sev):
    make(sev[0], tta=5)
    make(sev[0], days_ago=1)  # a day without acknowledgement
    report = metrics.report(metrics.parse_filters({}))
    assert figures_of(report, "SEV1").compliance("tta") == 50.0


def test_per_service_and_per_week(known):
    report = metrics.report(metrics.parse_filters({"by": "service"}))
    assert report.groups == ["checkout", "search", "No service"]
    assert figures_of(report, "checkout").median["tta"] == 450.0
    assert report.filters.weekly and all(p.weekday() == 0 for p in report.periods)
    assert sum(f.count for f in report.series["checkout"]) == 2


def test_bad_filters_say_what_was_used_instead():
    for params, message in (({"start": "2026-13-01"}, "“2026-13-01” is not a date for the start"),
                            ({"start": "2026-12-01", "end": "2026-11-01"}, "The start was after the end"),
                            ({"by": "colour"}, "“colour” is not a grouping"),
                            ({"start": "2000-01-01", "end": "2026-01-01"}, "A range is at most")):
        assert any(message in p for p in metrics.parse_filters(params).problems), params


def test_the_page_shows_figures_definitions_charts_and_marks_edited_incidents(as_user, known, viewer):
    page = as_user(viewer).get(reverse("followup:metrics")).content.decode()
    assert "Measured from impact started" in page and "Definitions" in page and "nearest rank" in page
    assert page.count('<svg class="chart"') == 4
    assert "66.7 %" in page and "10 min" in page
    assert "Incidents with edited milestones" in page and "edited: impact started" in page


def test_bad_filters_on_the_page(as_user, viewer):
    page = as_user(viewer).get(reverse("followup:metrics") + "?start=soon&by=x").content.decode()
    assert "“soon” is not a date for the start (use YYYY-MM-DD); the default is used." in page
    assert "“x” is not a grouping (severity or service); grouped by severity." in page


def test_the_figures_csv(as_user, known, viewer):
    response = as_user(viewer).get(reverse("followup:metrics_csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    sev1 = next(r for r in rows if r["group"] == "SEV1" and not r["period_start"])
    assert (sev1["incidents"], sev1["tta_median_s"], sev1["tta_p90_s"], sev1["tta_compliance_pct"],
            sev1["edited_milestones"]) == ("4", "600", "1800", "66.7", "1")
    assert any(r["period_start"] for r in rows)


def test_the_incidents_csv_marks_edited_milestones_and_defuses_formulas(as_user, sev, viewer):
    risky = make(sev[0], tta=5, ttm=6, ttr=7, title="=HYPERLINK(\"http://evil\")")
    risky.milestone_edits = {"impact_started": {"at": risky.impact_started_at.isoformat()}}
    risky.save()
    rows = list(csv.DictReader(io.StringIO(
        as_user(viewer).get(reverse("followup:metrics_incidents_csv")).content.decode())))
    assert rows[0]["title"].startswith("'=HYPERLINK") and rows[0]["edited_milestones"] == "impact_started"
    assert (rows[0]["tta_s"], rows[0]["tta_met"]) == ("300", "yes")


def test_the_page_costs_the_same_queries_with_6_and_300_incidents(as_user, known, viewer, settings):
    settings.PAGE_CACHE_SECONDS = 0  # each read renders (a kept page is two queries: the test below)
    client = as_user(viewer)
    client.get(reverse("followup:metrics"))  # a session's first read finds the user; later ones reuse it
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("followup:metrics"))
    for n in range(300):
        make(known[n % 4], tta=n % 40, ttm=n % 90, ttr=n % 300, days_ago=n % 80)
    with CaptureQueriesContext(connection) as large:
        page = client.get(reverse("followup:metrics")).content.decode()
    assert "All incidents" in page
    assert len(large) == len(small)


def test_a_kept_metrics_page_costs_its_fingerprint_and_follows_every_change(as_user, known, viewer, settings,
                                                                          django_assert_num_queries):
    settings.PAGE_CACHE_SECONDS, settings.AUTH_MEMO_SECONDS = 90, 10  # as deployed
    client = as_user(viewer)
    url = reverse("followup:metrics")
    before = client.get(url).content.decode()
    with django_assert_num_queries(2):  # the incidents' marks and the severities: the page is the kept one
        assert client.get(url).content.decode().count('<svg class="chart"') == 4
    assert "Fresh correction" not in before and "33.3 %" not in before
    fresh = make(known[1], tta=5, ttm=6, ttr=7, title="Fresh correction")
    fresh.milestone_edits = {"impact_started": {"at": fresh.impact_started_at.isoformat(), "reason": "x"}}
    fresh.save()
    assert "Fresh correction" in client.get(url).content.decode()  # an incident changed in the range
    known[0].response_minutes = 7
    known[0].save()
    assert "33.3 %" in client.get(url).content.decode()  # a severity's response time: 1 of 3 SEV1 in time
    assert "Fresh correction" not in client.get(url + "?by=service&start=2001-01-01&end=2001-02-01").content.decode()
