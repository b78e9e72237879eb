"""The document's shape decided first, blocks read by what they are, contacts and escalation from prose:
on small documents of our own (tests/runbooks/docs/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.importer import ImportedRunbook, parse_document, to_contract

DOCS = Path(__file__).parent / "docs"


def parse(name: str, split: str = "auto"):
    return parse_document((DOCS / name).read_bytes(), name, split=split)


def parse_text(text: str, split: str = "auto"):
    return parse_document(text.encode(), "doc.md", split=split)


def commands(runbook: ImportedRunbook) -> list[tuple[str, str]]:
    return [(c.language, c.text) for s in runbook.steps for c in s.commands]


def step(runbook: ImportedRunbook, starts: str):
    return next(s for s in runbook.steps if s.text.startswith(starts))


# --- the shape, decided from the whole tree ------------------------------------------------------------


def test_sections_that_are_phases_make_one_procedure_not_one_runbook_each():
    doc = parse("phased-procedure.md")

    assert [r.title for r in doc.runbooks] == ["Rotate the queue broker certificate"]
    assert doc.shape == "procedure"
    assert "Before you start" in doc.why[0] and "If it goes wrong" in doc.why[0]
    (runbook,) = doc.runbooks
    assert {s.heading for s in runbook.steps} >= {"Before you start", "Procedure", "If it goes wrong"}


def test_sections_that_each_hold_a_fix_make_a_catalogue_with_a_general_runbook():
    doc = parse("alert-catalogue.md")

    assert doc.shape == "catalogue"
    assert [r.title for r in doc.runbooks] == ["Payment service alerts", "PaymentsQueueStuck", "PaymentsProviderErrors"]
    assert doc.runbooks[1].alerts == ["PaymentsQueueStuck"]
    assert any("Handy commands" in w and "not imported" in w for w in doc.warnings)
    assert "References" not in " ".join(r.title for r in doc.runbooks)


def test_the_reasons_for_the_shape_are_in_the_json():
    (document,) = to_contract([parse("alert-catalogue.md")])["documents"]

    assert document["shape"] == "catalogue"
    assert any("PaymentsQueueStuck" in reason for reason in document["why"])


def test_a_policy_page_keeps_only_the_sections_that_instruct():
    doc = parse("contacts-in-prose.md")

    assert doc.shape == "policy"
    assert [r.title for r in doc.runbooks] == ["Getting help"]  # the tier list is escalation, not steps


@pytest.mark.parametrize(
    ("split", "titles"),
    [
        ("document", ["Payment service alerts"]),
        (
            "h2",
            ["Payment service alerts", "PaymentsQueueStuck", "PaymentsProviderErrors", "Handy commands", "References"],
        ),
    ],
)
def test_the_reading_can_be_chosen(split, titles):
    doc = parse("alert-catalogue.md", split=split)

    assert [r.title for r in doc.runbooks] == titles
    assert doc.split == split
    assert "as asked" in doc.why[0]


def test_each_third_level_heading_can_be_a_runbook():
    text = "# Ops\n\n## Disks\n\n### Disk full\n\n1. Clear `/tmp`\n\n### Disk slow\n\n1. Check `iostat -x 1`\n"

    doc = parse_text(text, split="h3")

    assert [r.title for r in doc.runbooks] == ["Disk full", "Disk slow"]


def test_an_unknown_reading_falls_back_to_the_decided_shape():
    doc = parse("alert-catalogue.md", split="h9")

    assert doc.split == "auto" and doc.shape == "catalogue"


def test_prose_without_instructions_is_not_a_runbook():
    doc = parse_text("# Team notes\n\n## Monday\n\nWe met and talked about the roadmap.\n")

    assert doc.runbooks == []


# --- blocks read by what they are ---------------------------------------------------------------------


def test_in_a_console_session_only_prompted_lines_are_commands():
    (runbook,) = parse("phased-procedure.md").runbooks

    reload = step(runbook, "Reload the broker")
    assert [c.text for c in reload.commands] == ["ssh admin@broker-1.internal", "systemctl reload broker"]
    assert all("Reloading" not in c.text for c in reload.commands)


def test_a_root_prompt_is_a_prompt_but_a_comment_in_a_script_stays_a_comment():
    text = (
        "# Fix\n\n## Mitigation\n\n```console\n$ oc debug node/n1\n# chroot /host\n```\n\n"
        "Clean up:\n\n```bash\n# remove the stale lock first\nrm -f /run/app.lock\n```\n"
    )
    (runbook,) = parse_text(text).runbooks

    assert [c.text for c in runbook.steps[0].commands] == ["oc debug node/n1", "chroot /host"]
    assert runbook.steps[1].commands[0].text == "# remove the stale lock first\nrm -f /run/app.lock"


def test_log_blocks_give_error_patterns_and_no_command():
    (runbook,) = parse("blocks-by-kind.md").runbooks

    gateway = step(runbook, "The gateway writes lines like these")
    assert gateway.commands == []
    assert "shard 3 timed out after 2000ms" in runbook.error_patterns


def test_promql_and_logql_blocks_are_queries_with_their_language():
    (runbook,) = parse("blocks-by-kind.md").runbooks

    languages = [language for language, _ in commands(runbook)]
    assert languages[:2] == ["promql", "logql"]


def test_a_key_value_table_gives_service_severity_owner_and_alert():
    (runbook,) = parse("blocks-by-kind.md").runbooks

    assert (runbook.service, runbook.severity, runbook.owner) == ("search-api", "SEV2", "Team Discovery")
    assert runbook.alerts == ["SearchLatencyHigh"]


def test_a_definition_list_gives_the_runbook_its_fields():
    text = (
        "# Cache evictions\n\nService\n: cache-tier\n\nOwner\n: Team Orbit\n\n"
        "## Mitigation\n\n1. Run `redis-cli INFO`\n"
    )
    (runbook,) = parse_text(text).runbooks

    assert (runbook.service, runbook.owner) == ("cache-tier", "Team Orbit")


def test_admonitions_are_cautions_attached_to_the_step_they_stand_in():
    (runbook,) = parse("blocks-by-kind.md").runbooks

    cold = next(s for s in runbook.steps if s.heading == "Cold index")
    assert cold.caution and cold.text.startswith("Warming the index takes about ten minutes")
    warm = step(runbook, "Warm the cache")
    assert warm.cautions == [
        "Warming all shards at once doubles the load on the cluster for a few minutes.",
        "The dashboard link is in the team wiki.",  # a Hugo notice after the list: the list's last step
    ]
    (reload,) = [s for s in parse("phased-procedure.md").runbooks[0].steps if s.text.startswith("Reload")]
    assert reload.cautions == ["a restart drops every consumer; only ever reload."]


def test_template_tags_are_dropped_and_hugo_notices_are_cautions():
    doc = parse("blocks-by-kind.md")

    texts = " ".join(s.text + " ".join(s.cautions) for s in doc.runbooks[0].steps)
    assert "figure" not in texts and "{{" not in texts
    assert "The dashboard link is in the team wiki." in texts


def test_a_fence_inside_an_html_comment_is_never_a_command():
    doc = parse("blocks-by-kind.md")

    assert all("rm -rf" not in text for _, text in commands(doc.runbooks[0]))


def test_nesting_deeper_than_markdown_it_can_follow_keeps_the_rest_of_the_document():
    deep = "".join("  " * n + "- level\n" for n in range(60))
    text = f"# Deep\n\n## Mitigation\n\n{deep}\n## Verification\n\n1. Run `curl -fsS https://status.internal/ok`\n"

    doc = parse_text(text)

    (runbook,) = doc.runbooks
    assert any(s.heading == "Verification" and s.commands for s in runbook.steps)
    assert any("nested too deep" in w for w in doc.warnings)


def test_an_erb_rake_helper_is_the_rake_task_it_runs():
    text = (
        "# Jobs\n\n## Requeue\n\nRun the requeue task:\n\n"
        '<%= RunRakeTask.links("jobs-admin", "jobs:requeue_all") %>\n'
    )
    (runbook,) = parse_text(text).runbooks

    assert commands(runbook) == [("rake", "jobs:requeue_all")]


def test_a_command_repeated_as_an_example_with_its_placeholders_filled_is_not_a_second_command():
    text = (
        "# DB\n\n## Connect\n\n1. Connect to the database:\n\n   ```bash\n   psql -h <host> -U <user>\n   ```\n"
        "   Example:\n   ```bash\n   psql -h db1.internal -U app\n   ```\n"
    )
    (runbook,) = parse_text(text).runbooks

    assert [c.text for c in runbook.steps[0].commands] == ["psql -h <host> -U <user>"]


def test_inline_commands_need_to_be_complete_or_introduced():
    text = (
        "# Box\n\n## Mitigation\n\n- `kill -9` any session you do not know\n"
        "- Test pulls with `podman pull`.\n- Apply the fix: `kubectl apply -f fix.yaml`\n"
        "- Run `uptime` to see the load\n"
    )
    (runbook,) = parse_text(text).runbooks

    assert [text for _, text in commands(runbook)] == ["kubectl apply -f fix.yaml", "uptime"]


# --- contacts and escalation from prose ---------------------------------------------------------------


def test_owners_channels_and_handles_written_in_sentences_are_contacts():
    doc = parse("contacts-in-prose.md")

    contacts = {(c.name, c.role, c.handle, c.channel, c.via) for c in doc.contacts}
    assert (None, None, None, "#storage-incidents", "Slack") in contacts
    assert (None, None, "@storage-oncall", None, "PagerDuty") in contacts  # '@x (PagerDuty)' keeps both
    assert ("Team Bedrock", "owner", None, None, None) in contacts
    assert (None, "Platform Support", None, None, None) in contacts


def test_no_contact_is_made_from_a_sentence_fragment():
    doc = parse("contacts-in-prose.md")

    names = [c.name or c.role or "" for c in doc.contacts]
    assert all(len(n.split()) <= 4 for n in names)
    assert not any(n.lower().startswith(("for ", "if ", "the ")) for n in names)


def test_escalation_tiers_written_as_a_list_with_minutes_are_rows():
    doc = parse("contacts-in-prose.md")

    tiers = [(e.notify, e.within_minutes) for e in doc.escalation if e.within_minutes is not None]
    assert tiers == [(["storage on-call engineer"], 5), (["storage team lead"], 20), (["Head of Infrastructure"], 45)]


def test_escalation_rules_per_kind_of_incident_keep_the_documents_words():
    doc = parse("contacts-in-prose.md")

    rules = {e.severity: e.action for e in doc.escalation if e.severity}
    assert rules == {
        "not urgent": "open a ticket and tag @bedrock-team",
        "urgent": "start a thread in #storage-incidents and contact Platform Support",
    }
