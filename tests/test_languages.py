"""One definition of which command languages run (runbooks.languages), and every consumer agrees with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from incidents.execution import CommandRefused, programs_in
from incidents.models import CommandRun, ExecutionTarget, Incident, IncidentError
from runbooks import languages
from runbooks.importer import parse_document
from runbooks.models import Command, Runbook, Step
from tests.factories import make_severities

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DOCUMENTS = sorted([*(ROOT / "runbooks" / "demo").glob("*.md"), *(ROOT / "tests" / "runbooks" / "docs").glob("*.md"),
                    *(SHARED / "seeds").glob("*.txt"), *(SHARED / "corpus" / "docs").glob("*")])


@pytest.mark.parametrize(("written", "stored"), [
    ("bash", "bash"), ("sh", "bash"), ("Shell", "bash"), ("zsh", "bash"), (None, "bash"), ("", "bash"),
    ("psql", "sql"), ("PostgreSQL", "sql"), ("sql", "sql"),
    ("console", "console"), ("shell-session", "console"), ("yaml", "yaml"), ("PromQL", "promql"),
])
def test_fence_names_are_normalised_to_one_name_per_language(written, stored):
    assert languages.normalise(written) == stored


def test_every_language_the_importer_emits_is_either_runnable_or_plainly_not():
    seen = set()
    for path in DOCUMENTS:
        doc = parse_document(path.read_bytes(), path.name)
        for runbook in doc.runbooks:
            for step in runbook.steps:
                seen.update(languages.normalise(c.language) for c in step.commands)
    assert {"bash", "sql"} <= seen
    for name in seen:
        if languages.is_runnable(name):
            assert name in languages.RUNNABLE
        else:
            reason = languages.not_runnable_reason(name)
            assert "shown for reading" in reason


def _incident_with(language: str, text: str, by):
    with_steps = Runbook.objects.create(title=f"{language} runbook", slug=f"{language}-runbook", body_markdown="x")
    step = Step.objects.create(runbook=with_steps, order=0, phase="triage", text="Look")
    Command.objects.create(step=step, order=0, text=text, language=language)
    with_steps.record_version(note="test")
    return Incident.declare(title="Something", severity=make_severities()[2], by=by, runbooks=[with_steps])


@pytest.mark.parametrize(("language", "text", "runs"), [
    ("console", "$ kubectl get pods\nNAME READY", False),
    ("yaml", "replicas: 3", False),
    ("psql", "SELECT 1;", True),
    ("sh", "echo hello", True),
])
def test_the_run_link_the_run_form_and_the_model_agree(as_user, responder, language, text, runs):
    target = ExecutionTarget.objects.create(name="local", allowed_programs=["echo", "kubectl", "psql"], is_default=True,
                                            sql_dsn_env="DSN")
    incident = _incident_with(language, text, responder)
    item = incident.checklist.get()
    run_url = reverse("incidents:run_new", args=[incident.pk, item.pk, 0])
    client = as_user(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert (run_url in page) is runs
    form = client.get(run_url).content.decode()
    assert ("shown for reading" in form) is not runs
    if runs:
        run = CommandRun.request(item=item, index=0, values={}, by=responder, target=target)
        assert run.language == languages.normalise(language)
    else:
        with pytest.raises(IncidentError, match="shown for reading"):
            CommandRun.request(item=item, index=0, values={}, by=responder, target=target)
        with pytest.raises(CommandRefused, match="shown for reading"):
            programs_in(text, language)
