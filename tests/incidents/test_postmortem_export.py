"""The postmortem as one Markdown file, and its print view."""

from __future__ import annotations

import pytest
from django.urls import reverse
from markdown_it import MarkdownIt

from incidents.models import ActionItem, Postmortem
from tests.incidents.timings import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(commander, responder):
    return build(commander, responder)


@pytest.fixture
def postmortem(incident, commander, responder):
    postmortem = Postmortem.generate(incident, by=commander)
    postmortem.save_section("root_cause", "Consumers crashed on a message with a `null` order id.", version=1,
                            by=commander)
    ActionItem.raise_item(incident, description="Dead-letter poison | messages", owner=responder, due_date=None,
                          by=commander, runbook=incident.runbooks.get().runbook)
    return postmortem


def test_the_export_is_one_markdown_file_with_the_timeline_and_all(as_user, postmortem, incident, viewer):
    response = as_user(viewer).get(reverse("incidents:postmortem_md", args=[incident.pk]))
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="postmortem-{incident.pk}-orders-stuck.md"'
    text = response.content.decode()
    assert text.startswith(f"# Postmortem: #{incident.pk} Orders stuck\n")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Summary", "## Impact", "## Severity", "## Milestones", "## Key timeline", "## Checklist",
                        "## People", "## Runbook gaps", "## Root cause", "## Trigger", "## Contributing factors",
                        "## What went well", "## What went badly", "## Where we got lucky", "## Lessons",
                        "## Action items"]
    assert "| Time to acknowledge (TTA) | 22 min | 15 min | **missed** |" in text
    assert "| Impact started | 2026-11-02 08:50 | 0 s |" in text
    assert "- **2026-11-02 09:12:00** Acknowledged — rosa: Acknowledged by rosa" in text
    assert "Error from server (Forbidden)" in text  # the failed run's output excerpt
    assert "Consumers crashed on a message with a `null` order id." in text
    assert "| Dead-letter poison \\| messages (runbook “Queue backlog”) | rosa |" in text  # a pipe kept in its cell
    assert "_Not written._" in text.split("## Trigger")[1].split("##")[0]


def test_the_export_renders_as_markdown_with_its_tables(as_user, postmortem, incident, viewer):
    text = as_user(viewer).get(reverse("incidents:postmortem_md", args=[incident.pk])).content.decode()
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert html.count("<table>") == 3 and "<td>Dead-letter poison | messages" in html


def test_a_fence_in_the_output_does_not_break_the_export(as_user, incident, commander):
    run = incident.command_runs.order_by("pk").first()
    run.__class__.objects.filter(pk=run.pk).update(output="before\n```\nafter the fence\n")
    Postmortem.generate(incident, by=commander)
    text = as_user(commander).get(reverse("incidents:postmortem_md", args=[incident.pk])).content.decode()
    assert "  ````\n  before\n  ```\n  after the fence\n  ````" in text


def test_no_export_before_a_draft(as_user, incident, viewer):
    response = as_user(viewer).get(reverse("incidents:postmortem_md", args=[incident.pk]), follow=True)
    assert "There is no postmortem draft to export yet: generate it first." in response.content.decode()


def test_the_print_view_shows_the_kept_entries_and_the_written_sections(as_user, postmortem, incident, viewer,
                                                                        commander):
    coffee_free = [e for e in postmortem.facts["timeline"] if "Paged rosa by email" in e["text"]][0]
    postmortem.set_included(coffee_free["key"], False, by=commander)
    page = as_user(viewer).get(reverse("incidents:postmortem_print", args=[incident.pk])).content.decode()
    assert 'class="print-page"' in page and "data-print" in page
    assert "Paged rosa by email" not in page and "Paged rosa by SMS" in page
    assert "<code>null</code> order id" in page
    assert "<details class=\"pm-defs\" open>" in page  # definitions printed open
