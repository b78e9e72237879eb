"""Step text reads as prose on the incident checklist and the runbook page: no raw Markdown, nothing unsafe."""

from __future__ import annotations

import pytest

from incidents.models import Incident
from runbooks.importer import parse_document
from runbooks.models import Runbook
from runbooks.steptext import step_html
from runbooks.store import store_document
from tests.factories import make_severities


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Restart `api` **now**", "Restart <code>api</code> <strong>now</strong>"),
        ("Keep `<pod>` and `a && b` as written",
         "Keep <code>&lt;pod&gt;</code> and <code>a &amp;&amp; b</code> as written"),
        ("<script>alert(1)</script> **x**", "&lt;script&gt;alert(1)&lt;/script&gt; <strong>x</strong>"),
        ("See [the docs](https://docs.example.com/a?b=1&c=2)",
         'See <a href="https://docs.example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">the docs</a>'),
        ("A [local link](#below) and [a script](javascript:alert(1))", "A local link and a script)"),
        ("snake_case_names and 2 * 3 * 4 stay", "snake_case_names and 2 * 3 * 4 stay"),
        ("Escaped \\[brackets\\] read plainly", "Escaped [brackets] read plainly"),
    ],
)
def test_inline_markdown_becomes_safe_html(text, html):
    assert step_html(text) == html


def test_paragraphs_stay_paragraphs_and_cautions_are_shown_as_cautions():
    html = step_html("Drain the node.\n\nThen cordon it.\n\n> Never drain both nodes of a pair.")

    assert html.count('class="step-para"') == 3
    assert '<span class="step-caution" role="note"><strong>Caution:</strong> Never drain both nodes' in html


def _incident_with_imported_runbook(by):
    text = (
        b"# Broker certificate\n\n## Procedure\n\n1. Reload the broker with `systemctl reload broker` **first**\n\n"
        b"   > **Note:** a restart drops every consumer.\n"
    )
    store_document(parse_document(text, "broker.md"))
    return Incident.declare(title="Certificate expired", severity=make_severities()[0], by=by,
                            runbooks=[Runbook.objects.get()])


@pytest.mark.django_db
def test_the_incident_checklist_shows_step_text_as_prose_with_its_caution(as_user, commander):
    incident = _incident_with_imported_runbook(commander)

    page = as_user(commander).get(incident.get_absolute_url()).content.decode()

    assert "Reload the broker with <code>systemctl reload broker</code> <strong>first</strong>" in page
    assert "<strong>Caution:</strong> a restart drops every consumer." in page
    assert "**first**" not in page and "`systemctl" not in page


@pytest.mark.django_db
def test_the_runbook_page_shows_step_text_as_prose(as_user, viewer):
    store_document(parse_document(b"# Broker\n\n## Fix\n\n1. Run `./fix.sh --now` **carefully**\n", "b.md"))

    page = as_user(viewer).get(Runbook.objects.get().get_absolute_url()).content.decode()

    assert "Run <code>./fix.sh --now</code> <strong>carefully</strong>" in page
