"""Document styles beyond the seeds, on small documents of our own (tests/runbooks/docs/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.importer import ImportedRunbook, parse_document, to_contract

DOCS = Path(__file__).parent / "docs"


def parse(name: str):
    return parse_document((DOCS / name).read_bytes(), name)


def parse_text(text: str, source: str = "doc.md"):
    return parse_document(text.encode(), source)


def commands(runbook: ImportedRunbook) -> list[tuple[str, str]]:
    return [(c.language, c.text) for s in runbook.steps for c in s.commands]


def texts(runbook: ImportedRunbook) -> list[str]:
    return [s.text for s in runbook.steps]


# --- one alert per file, YAML front matter -------------------------------------------------------------


def test_front_matter_names_the_alert_service_and_severity_of_the_file_runbook():
    doc = parse("alert-front-matter.md")

    (runbook,) = doc.runbooks
    assert doc.title == "Ledger sync lag is high"
    assert runbook.title == "Ledger sync lag is high"
    assert runbook.alerts == ["LedgerSyncLagHigh"]
    assert runbook.service == "ledger-sync"
    assert runbook.severity == "warning"
    assert runbook.summary.startswith("The ledger-sync consumer is more than ten minutes behind")
    assert doc.warnings == []


def test_meaning_and_impact_paragraphs_are_detection_and_triage_steps():
    (runbook,) = parse("alert-front-matter.md").runbooks

    phases = {s.heading: s.phase for s in runbook.steps}
    assert (phases["Meaning"], phases["Impact"], phases["Diagnosis"]) == ("detection", "triage", "investigation")
    assert [s.phase for s in runbook.steps if s.heading == "Mitigation"] == ["mitigation", "mitigation"]
    impact = next(s for s in runbook.steps if s.heading == "Impact")
    assert impact.text.startswith("Customers see balances") and not impact.commands


def test_nested_sub_steps_follow_their_parent_step():
    (runbook,) = parse("alert-front-matter.md").runbooks

    steps = texts(runbook)
    parent = steps.index("Check whether one partition is stuck while the others move")
    assert steps[parent + 1 : parent + 3] == [
        "Compare the lag of each partition over two runs",
        "A single stuck partition points at a poison message",
    ]


def test_front_matter_alone_with_a_list_body_is_one_runbook():
    doc = parse_text(
        "---\nalertname: CertRenewalFailed\nservice: edge-proxy\n---\n- Run `certbot renew --dry-run`\n"
    )

    (runbook,) = doc.runbooks
    assert runbook.title == "CertRenewalFailed"
    assert runbook.alerts == ["CertRenewalFailed"]
    assert commands(runbook) == [("bash", "certbot renew --dry-run")]


def test_broken_front_matter_is_reported_and_the_body_still_imports():
    doc = parse_text("---\nalert: [unclosed\n---\n# Disk alarm\n\n## Mitigation\n1. Run `df -h /srv`\n")

    assert any("front matter" in w for w in doc.warnings)
    assert [r.title for r in doc.runbooks] == ["Disk alarm"]


# --- '## Alert: Name' sections ----------------------------------------------------------------------------


def test_alert_sections_are_runbooks_named_after_their_alert():
    doc = parse("alert-sections.md")

    assert [r.title for r in doc.runbooks] == ["ThumbnailQueueBacklog", "QuotaApiErrorBudgetBurn"]
    thumbs, quota = doc.runbooks
    assert thumbs.alerts == ["ThumbnailQueueBacklog"]
    assert (thumbs.severity, thumbs.service) == ("SEV2", "thumbnailer")
    assert thumbs.summary == "More than 5,000 images wait for a thumbnail for over five minutes."
    assert quota.severity == "SEV1"
    assert "quota store unavailable" in quota.error_patterns


def test_powershell_sql_and_yaml_fences_keep_their_language():
    thumbs = parse("alert-sections.md").runbooks[0]

    languages = [language for language, _ in commands(thumbs)]
    assert languages == ["powershell", "sql", "powershell", "yaml"]
    assert ("yaml", "render:\n  max_width: 640\n  quality: 70") in commands(thumbs)


def test_checkboxes_are_kept_checked_or_not():
    thumbs = parse("alert-sections.md").runbooks[0]

    boxes = [(s.text, s.checkbox) for s in thumbs.steps if s.heading == "Verification"]
    assert boxes == [
        ("The queue drains below 500 within fifteen minutes", True),
        ("Previews appear for new uploads", True),
    ]


def test_a_paragraph_over_a_tilde_fence_is_one_step_with_its_command():
    quota = parse("alert-sections.md").runbooks[1]

    last = quota.steps[-1]
    assert last.text == "Fail open: quota checks are skipped and usage is counted later."
    assert [c.text for c in last.commands] == [
        "kubectl set env deploy/quota-api -n quota QUOTA_FAIL_OPEN=true"
    ]


# --- fences, indented code, <details> -----------------------------------------------------------------------


def test_tilde_fences_indented_code_and_details_blocks_are_all_imported():
    (runbook,) = parse("fences-and-details.md").runbooks

    found = commands(runbook)
    assert ("bash", 'journalctl -u mqtt-bridge --since "10 min ago" --no-pager') in found
    assert any(text.startswith("mosquitto_sub -h broker-a.internal") for _, text in found)
    assert any(text.startswith("mosquitto_sub -h broker-b.internal") for _, text in found)  # inside <details>
    deeper = [s for s in runbook.steps if s.heading == "Deeper checks"]
    assert [s.text for s in deeper] == [
        "Compare the message rates on both brokers",
        "Check the TLS certificate dates",
    ]


def test_numbered_steps_with_nested_sub_steps_keep_document_order():
    (runbook,) = parse("fences-and-details.md").runbooks

    remediation = [s.text for s in runbook.steps if s.phase == "remediation"]
    assert remediation == [
        "Restart the bridge",
        "Wait thirty seconds",
        "Re-run the connection check above",
        "If the certificate expired, rotate it",
    ]


# --- severity matrices, escalation, contacts ------------------------------------------------------------


def test_sev_matrix_with_impact_and_urgency_columns():
    doc = parse("severity-sev-matrix.md")

    levels = [(s.name, s.rank, s.response_minutes) for s in doc.severity_levels]
    assert levels == [("SEV1", 0, 10), ("SEV2", 1, 30), ("SEV3", 2, 240), ("SEV4", 3, None)]
    sev1 = doc.severity_levels[0]
    assert "All customers" in sev1.description and "Immediate" in sev1.description
    assert sev1.examples == ["Playback fails everywhere", "Upload API returns 5xx"]
    assert "Next business day" in doc.severity_levels[3].description
    assert doc.runbooks == []


def test_tiered_escalation_without_severities_under_an_escalation_heading():
    doc = parse("severity-sev-matrix.md")

    rows = [(e.severity, e.notify, e.within_minutes) for e in doc.escalation]
    assert rows == [
        (None, ["Media on-call"], 0),
        (None, ["Media on-call", "Platform lead"], 20),
        (None, ["Head of Engineering"], 45),
    ]


def test_contacts_table_finds_identifiers_by_their_form():
    doc = parse("severity-sev-matrix.md")

    priya, tomasz, room = doc.contacts
    assert (priya.name, priya.role, priya.email, priya.phone, priya.handle) == (
        "Priya Raman",
        "Media on-call",
        "media-oncall@example.org",
        "+44 20 7946 0018",
        "@media-oncall",
    )
    assert tomasz.handle == "@tnowak"
    assert (room.channel, room.via) == ("#media-war-room", "Slack")


def test_critical_major_minor_matrix_and_a_contacts_list():
    doc = parse("severity-critical-major-minor.md")

    assert [(s.name, s.response_minutes) for s in doc.severity_levels] == [
        ("Critical", 15),
        ("Major", 60),
        ("Minor", 480),
    ]
    assert "Every tenant" in doc.severity_levels[0].description
    oncall, lead, channel = doc.contacts
    assert (oncall.role, oncall.handle, oncall.via) == ("Storage on-call", "@storage-oncall", "PagerDuty")
    assert (lead.name, lead.email, lead.phone) == ("Ines Duarte", "ines@example.net", "+351 21 000 0000")
    assert (channel.channel, channel.via) == ("#storage-incidents", "Slack")


def test_escalation_rows_give_the_levels_their_response_times():
    doc = parse_text(
        "# Paging\n\n## Levels\n- **S1 (Outage)**: nothing works\n- **S2 (Degraded)**: slow\n\n"
        "## Escalation matrix\n| Severity | Page | Within |\n|---|---|---|\n"
        "| S1 | Primary + Secondary | 5 min |\n| S2 | Primary | 2 hours |\n"
    )

    assert [(s.name, s.description, s.response_minutes) for s in doc.severity_levels] == [
        ("S1", "Outage: nothing works", 5),
        ("S2", "Degraded: slow", 120),
    ]
    assert [e.notify for e in doc.escalation] == [["Primary", "Secondary"], ["Primary"]]


# --- shapes written inline ----------------------------------------------------------------------------


def test_sop_entries_with_keys_become_one_runbook_each():
    doc = parse_text(
        "# Known errors\n\n[MQ-7] Service: invoice-mailer\n"
        'Error Pattern: "SMTP 421" or "too many recipients"\n'
        "Context: the relay throttles us at month end.\nResolution Step:\n"
        "1. Pause the mailer: kubectl scale deploy/invoice-mailer --replicas=0 -n billing\n"
        "2. Wait for the relay window to reset.\n\n"
        '[MQ-8] Service: invoice-mailer\nError Pattern: "template not found"\n'
        "Resolution Step: Redeploy the templates: ./deploy-templates.sh --env prod\n"
    )

    first, second = doc.runbooks
    assert first.title == "invoice-mailer: SMTP 421 or too many recipients"
    assert (first.key, first.service) == ("MQ-7", "invoice-mailer")
    assert first.error_patterns == ["SMTP 421", "too many recipients"]
    assert [(s.text, [c.text for c in s.commands]) for s in first.steps] == [
        ("Pause the mailer", ["kubectl scale deploy/invoice-mailer --replicas=0 -n billing"]),
        ("Wait for the relay window to reset.", []),
    ]
    assert first.summary == "the relay throttles us at month end."
    assert second.key == "MQ-8"
    assert [c.text for c in second.steps[0].commands] == ["./deploy-templates.sh --env prod"]


def test_issue_sections_under_group_headings():
    doc = parse_text(
        "# Search troubleshooting\n\n## Indexing\n\n### Issue: Index lag over an hour\n\n#### Symptoms\n"
        "- New products missing from results\n\n#### Resolution Steps\n1. **Restart the indexer**\n"
        "   ```bash\n   kubectl rollout restart deploy/indexer -n search\n   ```\n\n"
        "### Issue: Shard unassigned\n\n#### Diagnostic Steps\n"
        "```bash\ncurl -s localhost:9200/_cat/shards | grep UNASSIGNED\n```\n"
    )

    assert [r.title for r in doc.runbooks] == ["Index lag over an hour", "Shard unassigned"]
    lag = doc.runbooks[0]
    assert [(s.phase, s.heading, s.text) for s in lag.steps] == [
        ("detection", "Symptoms", "New products missing from results"),
        ("remediation", "Resolution Steps", "Restart the indexer"),
    ]


def test_a_checklist_under_its_own_heading_is_a_runbook():
    doc = parse_text(
        "# Handbook\n\n## On-call handover\n\n- [ ] Read the open incidents\n- [x] Check the pager works\n\n"
        "## Glossary\n- **MTTR**: mean time to recovery\n- **SLO**: service level objective\n"
    )

    (runbook,) = doc.runbooks
    assert runbook.title == "On-call handover"
    assert [(s.text, s.checkbox) for s in runbook.steps] == [
        ("Read the open incidents", True),
        ("Check the pager works", True),
    ]


def test_emoji_numbering_and_a_key_are_stripped_from_titles():
    doc = parse_text(
        "# Runbooks\n\n## 🔥 3. Cache stampede (CACHE-12)\n\n### Detection\n- Hit ratio falls under 40%\n\n"
        "### Mitigation\n- Enable request coalescing: `kubectl set env deploy/edge COALESCE=1`\n"
    )

    (runbook,) = doc.runbooks
    assert (runbook.title, runbook.key) == ("Cache stampede", "CACHE-12")
    assert runbook.steps[-1].commands[0].text == "kubectl set env deploy/edge COALESCE=1"


def test_commands_after_a_colon_without_backticks_and_code_that_is_not_a_command():
    doc = parse_text(
        "# Queue\n\n## Consumer stuck\n\n### Mitigation\n"
        "1. Restart the consumer: systemctl restart queue-consumer\n"
        "2. Raise `prefetch_count` to 50 in the settings\n"
        "3. Note: the consumer is slow after a restart.\n"
    )

    steps = doc.runbooks[0].steps
    assert (steps[0].text, [c.text for c in steps[0].commands]) == (
        "Restart the consumer",
        ["systemctl restart queue-consumer"],
    )
    assert steps[1].commands == [] and steps[1].text == "Raise `prefetch_count` to 50 in the settings"
    assert steps[2].commands == []


def test_command_reference_sections_are_skipped_with_a_note():
    doc = parse_text(
        "# Ops\n\n## Disk full\n\n### Mitigation\n1. Clear the cache: `rm -rf /var/cache/app/*`\n\n"
        "## Handy commands\n\n```bash\nkubectl get pods -A\n```\n"
    )

    assert [r.title for r in doc.runbooks] == ["Disk full"]
    assert any("Handy commands" in w and "not imported" in w for w in doc.warnings)


def test_body_markdown_is_the_runbook_section_and_is_not_in_the_contract():
    text = (
        "# Ops\n\n## Disk full\n\nThe data disk fills up.\n\n### Mitigation\n1. Run `df -h`\n\n"
        "## Other\n\nx\n"
    )
    doc = parse_text(text)

    (runbook,) = doc.runbooks
    assert (
        runbook.body_markdown
        == "## Disk full\n\nThe data disk fills up.\n\n### Mitigation\n1. Run `df -h`\n\n"
    )
    assert runbook.summary == "The data disk fills up."
    contract_runbook = to_contract([doc])["documents"][0]["runbooks"][0]
    assert "summary" not in contract_runbook and "body_markdown" not in contract_runbook


def test_contract_shape_is_exactly_the_documented_one():
    contract = to_contract([parse("alert-sections.md")])

    (doc,) = contract["documents"]
    # the shared contract's fields, and the optional ones docs/import-format.md adds (shape, why, split,
    # owner, cautions, caution)
    assert set(doc) == {
        "source",
        "title",
        "shape",
        "why",
        "split",
        "runbooks",
        "severity_levels",
        "contacts",
        "escalation",
        "warnings",
    }
    assert doc["shape"] == "catalogue" and doc["why"] and doc["split"] == "auto"
    runbook = doc["runbooks"][0]
    assert set(runbook) == {"title", "key", "service", "owner", "alerts", "error_patterns", "severity", "steps"}
    step = next(s for s in runbook["steps"] if s["commands"])
    assert set(step) == {"phase", "heading", "text", "checkbox", "commands", "cautions", "caution"}
    assert set(step["commands"][0]) == {"language", "text"}


@pytest.mark.parametrize("name", sorted(p.name for p in DOCS.glob("*.md")))
def test_every_sample_document_imports_without_warnings(name):
    doc = parse(name)

    warned_on_purpose = {"alert-catalogue.md": ["'Handy commands' (line 18) was not imported as a runbook"]}
    assert [w.split(":")[0] for w in doc.warnings] == [w.split(":")[0] for w in warned_on_purpose.get(name, [])]
    assert doc.runbooks or doc.severity_levels or doc.contacts


# --- more styles: setext headings, plain text, step tables, alert-name headings ---------------------------


def test_setext_headings_and_step_numbered_paragraphs():
    (runbook,) = parse("setext-headings.md").runbooks

    assert runbook.title == "Payment Webhook Runbook"
    assert runbook.summary == "Webhook deliveries from the acquirer are failing."
    triage = [(s.phase, s.heading, s.text) for s in runbook.steps if s.heading == "Triage"]
    assert triage == [
        ("triage", "Triage", "Check the webhook dashboard for the error code."),
        ("triage", "Triage", "Look at the receiver logs"),
    ]
    logs = next(s for s in runbook.steps if s.text == "Look at the receiver logs")
    assert logs.commands[0].text == "kubectl logs deploy/webhook-receiver -n pay --since=30m"


def test_a_plain_text_playbook_without_markdown():
    doc = parse("plain-text-playbook.md")

    (runbook,) = doc.runbooks
    assert runbook.title == "INCIDENT PLAYBOOK - SEARCH CLUSTER RED"
    assert runbook.summary == "The search cluster health is red and queries fail."
    assert [c.text for s in runbook.steps for c in s.commands] == [
        "curl -s localhost:9200/_cluster/health?pretty",
        "curl -s localhost:9200/_cat/shards | grep UNASSIGNED",
        "sudo systemctl restart elasticsearch",
    ]


def test_a_table_of_steps_is_one_step_per_row():
    (runbook,) = parse("step-table.md").runbooks

    assert runbook.title == "Nightly export failed"
    assert [s.text for s in runbook.steps] == [
        "Check the job status",
        "Read the last log lines",
        "Re-run the export",
    ]
    assert (
        runbook.steps[2].commands[0].text
        == "kubectl create job --from=cronjob/nightly-export rerun-1 -n data"
    )


def test_headings_that_are_alert_names_are_runbooks_for_those_alerts():
    doc = parse("camelcase-alerts.md")

    assert [(r.title, r.alerts) for r in doc.runbooks] == [
        ("BillingInvoiceLag", ["BillingInvoiceLag"]),
        ("BillingPdfRenderErrors", ["BillingPdfRenderErrors"]),
    ]
    assert doc.runbooks[0].summary == "invoices are generated more than an hour late."
    assert doc.runbooks[1].error_patterns == ["FontNotFound"]


def test_details_without_blank_lines_and_quoted_notes():
    text = (
        "# Cache\n\n## Evictions spike\n\n### Diagnosis\n<details>\n<summary>Memory checks</summary>\n"
        "```bash\nredis-cli INFO memory\n```\n- Check `maxmemory-policy`\n</details>\n\n"
        "> **Note:** never flush the primary.\n\n### Mitigation\n"
        "> 1. Raise the limit: `redis-cli CONFIG SET maxmemory 4gb`\n"
    )
    (runbook,) = parse_text(text).runbooks

    assert [(s.heading, s.text, [c.text for c in s.commands]) for s in runbook.steps] == [
        ("Memory checks", "", ["redis-cli INFO memory"]),
        ("Memory checks", "Check `maxmemory-policy`", []),
        ("Mitigation", "Raise the limit", ["redis-cli CONFIG SET maxmemory 4gb"]),
    ]
    assert runbook.steps[1].cautions == ["never flush the primary."]  # the note stands in the Diagnosis


def test_utf16_with_windows_line_ends_imports_the_same():
    text = "# Disk\r\n\r\n## Full disk\r\n\r\n### Fix\r\n- Clean: `rm -rf /tmp/cache/*`\r\n"
    doc = parse_document(text.encode("utf-16"), "disk.md")

    (runbook,) = doc.runbooks
    assert (runbook.title, runbook.steps[0].text) == ("Full disk", "Clean")
    assert runbook.steps[0].commands[0].text == "rm -rf /tmp/cache/*"
    assert doc.warnings == []


def test_an_alert_file_written_as_prose_keeps_its_first_paragraph_as_summary_and_its_paragraphs_as_steps():
    text = (
        "---\nalert: FeedStale\nservice: price-feed\n---\nPrices stopped updating.\n\nRestart the poller.\n"
    )
    (runbook,) = parse_text(text).runbooks

    assert (runbook.title, runbook.alerts, runbook.service) == ("FeedStale", ["FeedStale"], "price-feed")
    assert runbook.summary == "Prices stopped updating."
    assert [s.text for s in runbook.steps] == ["Prices stopped updating.", "Restart the poller."]
