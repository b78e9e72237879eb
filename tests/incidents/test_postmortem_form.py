"""The postmortem form: generate, autosave, two people on one section, states, read-only when published."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import EventKind, IncidentError, Postmortem, PostmortemRevision, TimelineEvent
from tests.conftest import https_client
from tests.incidents.timings import at, build

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def incident(commander, responder):
    return build(commander, responder)


@pytest.fixture
def postmortem(incident, commander):
    return Postmortem.generate(incident, by=commander)


def url(name, incident, *args):
    return reverse(f"incidents:{name}", args=[incident.pk, *args])


def section(postmortem, key):
    return postmortem.sections.get(key=key)


def test_a_responder_generates_the_draft_from_the_page(as_user, incident, responder):
    client = as_user(responder)
    page = client.get(url("postmortem", incident)).content.decode()
    assert "No draft yet" in page and "Generate the draft" in page
    response = client.post(url("postmortem_generate", incident), follow=True)
    page = response.content.decode()
    assert "Drafted from the record; what people wrote is kept." in page
    assert "Time to acknowledge" in page and "22 min" in page and "missed" in page
    assert "Measured from impact started" in page
    assert incident.timeline.filter(kind=EventKind.POSTMORTEM, message="Postmortem draft generated").exists()


def test_a_viewer_reads_but_cannot_generate_or_write(as_user, postmortem, incident, viewer):
    client = as_user(viewer)
    page = client.get(url("postmortem", incident)).content.decode()
    assert "Root cause" in page and "<textarea" not in page
    assert client.post(url("postmortem_generate", incident)).status_code == 403
    assert client.post(url("postmortem_section", incident, "root_cause"), {"text": "x", "version": 1}).status_code \
        == 403


def test_autosave_stores_the_text_renders_it_safely_and_moves_the_version(as_user, postmortem, incident, responder):
    client = as_user(responder)
    text = "A **poison** message <script>alert(1)</script> [x](javascript:alert(1))"
    response = client.post(url("postmortem_section", incident, "root_cause"), {"text": text, "version": 1}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "Saved at" in body and "v2" in body
    assert 'id="section-root_cause-version" name="version" value="2" hx-swap-oob="true"' in body
    row = section(postmortem, "root_cause")
    assert row.text == text and row.version == 2 and row.updated_by == responder
    assert "<strong>poison</strong>" in row.html and "<script>" not in row.html and "&lt;script&gt;" in row.html
    assert 'href="javascript' not in row.html
    page = client.get(url("postmortem", incident)).content.decode()
    assert "<script>alert(1)</script>" not in page


def test_a_plain_post_saves_and_returns_to_the_section(as_user, postmortem, incident, responder):
    response = as_user(responder).post(url("postmortem_section", incident, "lessons"), {"text": "Alert on depth",
                                                                                        "version": 1})
    assert response.status_code == 302 and response["Location"].endswith("#section-lessons")
    assert section(postmortem, "lessons").text == "Alert on depth"


def test_a_second_writer_on_the_same_section_is_warned_and_nothing_is_lost(client, django_user_model, postmortem,
                                                                          incident, commander, responder):
    cora, rosa = https_client(), https_client()
    cora.force_login(commander)
    rosa.force_login(responder)
    key = "contributing_factors"
    # Both opened the page at version 1; Cora saves first.
    cora.post(url("postmortem_section", incident, key), {"text": "Cora's factors", "version": 1}, **HTMX)
    response = rosa.post(url("postmortem_section", incident, key), {"text": "Rosa's factors", "version": 1}, **HTMX)
    body = response.content.decode()
    assert "Not saved." in body and "Cora Commander saved “Contributing factors”" in body
    assert "Cora&#x27;s factors" in body  # their version, shown beside hers
    assert 'name="overwrite" value="2"' in body
    assert section(postmortem, key).text == "Cora's factors"
    # Rosa's later autosaves keep failing (her page still says version 1): no silent overwrite.
    again = rosa.post(url("postmortem_section", incident, key), {"text": "Rosa's factors, more", "version": 1},
                      **HTMX)
    assert "Not saved." in again.content.decode() and section(postmortem, key).text == "Cora's factors"
    # She merges and chooses to save over theirs, having seen version 2.
    rosa.post(url("postmortem_section", incident, key),
              {"text": "Cora's factors\n\nRosa's factors", "version": 1, "overwrite": 2}, **HTMX)
    row = section(postmortem, key)
    assert row.text == "Cora's factors\n\nRosa's factors" and row.version == 3 and row.updated_by == responder


def test_without_javascript_a_conflict_shows_the_page_with_my_text_in_the_box(as_user, postmortem, incident,
                                                                              commander, responder):
    postmortem.save_section("trigger", "A deploy", version=1, by=commander)
    response = as_user(responder).post(url("postmortem_section", incident, "trigger"),
                                       {"text": "My own trigger text", "version": 1})
    page = response.content.decode()
    assert response.status_code == 409
    assert ">My own trigger text</textarea>" in page and "A deploy" in page and "Not saved." in page
    assert 'id="section-trigger-version" name="version" value="1"' in page  # still the version she started from


def test_the_same_text_sent_twice_is_no_conflict(as_user, postmortem, incident, responder):
    client = as_user(responder)
    client.post(url("postmortem_section", incident, "lessons"), {"text": "same", "version": 1}, **HTMX)
    retried = client.post(url("postmortem_section", incident, "lessons"), {"text": "same", "version": 1}, **HTMX)
    assert "Not saved" not in retried.content.decode() and "Saved at" in retried.content.decode()
    assert section(postmortem, "lessons").version == 2


@pytest.mark.parametrize(("data", "message"), [
    ({"text": "x"}, "The form is missing the section&#x27;s version; reload the page."),
    ({"text": "x", "version": "two"}, "The section&#x27;s version is not a number; reload the page."),
    ({"text": "x" * 50_001, "version": 1}, "Keep a section under 50,000 characters."),
])
def test_bad_saves_say_why_and_store_nothing(as_user, postmortem, incident, responder, data, message):
    response = as_user(responder).post(url("postmortem_section", incident, "lessons"), data, **HTMX)
    assert message in response.content.decode()
    assert section(postmortem, "lessons").text == "" and section(postmortem, "lessons").version == 1


def test_an_unknown_section_is_refused(as_user, postmortem, incident, responder):
    response = as_user(responder).post(url("postmortem_section", incident, "nonsense"), {"text": "x", "version": 1})
    assert response.status_code == 404


def test_autosaves_of_one_person_close_together_are_one_revision(postmortem, commander, responder):
    postmortem.save_section("lessons", "a", version=1, by=commander)
    postmortem.save_section("lessons", "ab", version=2, by=commander)
    postmortem.save_section("lessons", "abc", version=3, by=responder)
    revisions = list(PostmortemRevision.objects.filter(section="lessons").order_by("pk").values_list(
        "text", "version", "by__username"))
    assert revisions == [("ab", 3, "cora"), ("abc", 4, "rosa")]


def test_draft_review_published_and_published_is_read_only(as_user, postmortem, incident, responder, commander):
    client = as_user(responder)
    state = url("postmortem_state", incident)
    page = client.post(state, {"to": "published"}, follow=True).content.decode()
    assert "Only a commander can publish a postmortem." in page
    client.post(state, {"to": "in_review"})
    postmortem.refresh_from_db()
    assert postmortem.state == "in_review"
    page = client.post(state, {"to": "published"}, follow=True).content.decode()
    assert "Only a commander can publish" in page
    as_user(commander).post(state, {"to": "published"})
    postmortem.refresh_from_db()
    assert postmortem.state == "published" and postmortem.published_by == commander
    page = client.get(url("postmortem", incident)).content.decode()
    assert "Published by <strong>Cora Commander</strong>" in page and "<textarea" not in page
    assert "Regenerate" not in page
    response = client.post(url("postmortem_section", incident, "lessons"), {"text": "late", "version": 1}, **HTMX)
    assert "This postmortem is published and can no longer change." in response.content.decode()
    page = client.post(url("postmortem_section", incident, "lessons"), {"text": "late words", "version": 1})
    assert "late words" in page.content.decode()  # shown back so they can copy it
    assert section(postmortem, "lessons").text == ""
    with pytest.raises(IncidentError, match="published"):
        Postmortem.generate(incident, by=commander)
    page = client.post(state, {"to": "draft"}, follow=True).content.decode()
    assert "A postmortem that is published cannot become draft. It is final." in page
    snapshot = PostmortemRevision.objects.get(section="")
    assert snapshot.by == commander and "lessons" in snapshot.snapshot["sections"]


def test_publishing_straight_from_draft_is_refused(postmortem, commander):
    with pytest.raises(IncidentError, match="A postmortem that is draft cannot become published."):
        postmortem.move("published", by=commander)


def test_untick_an_entry_and_it_leaves_the_export(as_user, postmortem, incident, responder):
    client = as_user(responder)
    note = next(e for e in postmortem.facts["timeline"] if e["text"] == "Consumers stuck on a poison message")
    keep = [e["key"] for e in postmortem.facts["timeline"] if e["key"] != note["key"]]
    response = client.post(url("postmortem_entries", incident), {"entry": note["key"], "keep": keep}, **HTMX)
    assert response.status_code == 200 and "Saved" in response.content.decode()
    postmortem.refresh_from_db()
    assert postmortem.excluded == [note["key"]]
    markdown = client.get(url("postmortem_md", incident)).content.decode()
    assert "poison message" not in markdown.split("## Key timeline")[1].split("## Checklist")[0]
    client.post(url("postmortem_entries", incident), {"keep": [*keep, note["key"]]})  # the plain form: the whole set
    postmortem.refresh_from_db()
    assert postmortem.excluded == []
    bad = client.post(url("postmortem_entries", incident), {"entry": "event:999999", "keep": []}, **HTMX)
    assert "That entry is not in the key timeline" in bad.content.decode()


def test_the_page_says_when_the_incident_recorded_more_since_the_draft(as_user, postmortem, incident, commander):
    import time_machine

    client = as_user(commander)
    assert "recorded more since this draft" not in client.get(url("postmortem", incident)).content.decode()
    with time_machine.travel(at(23, 0), tick=False):
        incident.add_note("one more thing", by=commander)
    postmortem.generated_at = at(22, 0)
    postmortem.save(update_fields=["generated_at"])
    assert "recorded more since this draft" in client.get(url("postmortem", incident)).content.decode()


def test_the_page_costs_the_same_queries_with_10_and_2000_events(as_user, postmortem, incident, commander):
    client = as_user(commander)
    TimelineEvent.objects.bulk_create([TimelineEvent(incident=incident, kind="note", message=f"n{n}", at=at(10, 0))
                                       for n in range(10)])
    client.get(url("postmortem", incident))  # a session's first read finds the user; later ones reuse it
    with CaptureQueriesContext(connection) as small:
        assert client.get(url("postmortem", incident)).status_code == 200
    TimelineEvent.objects.bulk_create([TimelineEvent(incident=incident, kind="note", message=f"n{n}", at=at(10, 0))
                                       for n in range(1990)])
    Postmortem.generate(incident, by=commander)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url("postmortem", incident)).status_code == 200
    assert len(large) == len(small)


def test_the_key_timeline_shows_recorded_text_escaped(as_user, incident, commander):
    incident.add_note('<img src=x onerror="alert(1)"> line one\nline two', by=commander, important=True)
    Postmortem.generate(incident, by=commander)
    page = as_user(commander).get(url("postmortem", incident)).content.decode()
    timeline = page.split('id="key-timeline"')[1].split("</section>")[0]
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; line one<br>line two" in timeline
    assert "<img" not in timeline
    assert timeline.count('type="checkbox" name="keep"') == timeline.count("<li class=\"event-")
