"""`manage.py import_runbooks PATH... [--dry-run] [--json]` as a person runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from runbooks.models import Command, Contact, Runbook, RunbookVersion, SeverityLevel, SourceDocument
from tests.conftest import need

DEMO = sorted((Path(settings.BASE_DIR) / "runbooks" / "demo").glob("*.md"))
SHARED = Path(settings.BASE_DIR).parent / "shared"

GOOD = """# Cache runbooks

## Cache Hit Rate Low

### Detection
- Alert: `CacheHitRateLow`

### Mitigation
1. Warm the cache
   ```bash
   ./warm-cache --all
   ```
"""


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_runbooks", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args) -> tuple[str, str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_runbooks", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), str(failure.value)


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "cache.md"
    path.write_text(GOOD)
    return path


@pytest.mark.django_db
def test_importing_twice_adds_no_duplicates_and_no_versions(good):
    out, _ = run(good)
    assert "cache.md: stored: 1 created" in out
    assert Runbook.objects.count() == 1

    out, _ = run(good)
    assert "0 created, 0 updated, 1 unchanged" in out
    assert Runbook.objects.count() == 1
    assert RunbookVersion.objects.count() == 1


@pytest.mark.django_db
def test_a_changed_document_gives_a_new_version_with_the_change(good):
    run(good)
    good.write_text(GOOD.replace("./warm-cache --all", "./warm-cache --hot-keys-only"))
    out, _ = run(good)

    assert "1 updated" in out
    runbook = Runbook.objects.get()
    assert runbook.version == 2
    assert Command.objects.get(step__runbook=runbook).text == "./warm-cache --hot-keys-only"


@pytest.mark.django_db
def test_a_dry_run_says_what_would_happen_and_stores_nothing(good):
    out, _ = run(good, "--dry-run")

    assert "would import: 1 created" in out
    assert not Runbook.objects.exists() and not SourceDocument.objects.exists()


def test_dry_run_json_prints_only_the_contract_and_needs_no_database(good, tmp_path):
    out, err = run(good, "--dry-run", "--json")

    contract = json.loads(out)
    (doc,) = contract["documents"]
    assert doc["source"].endswith("cache.md")
    assert {"title", "runbooks", "severity_levels", "contacts", "escalation", "warnings"} <= doc.keys()
    assert doc["runbooks"][0]["steps"]


@pytest.mark.django_db
def test_unreadable_files_are_reported_and_the_others_still_import(good, tmp_path):
    binary = tmp_path / "logo.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    folder = tmp_path / "folder"
    folder.mkdir()
    missing = tmp_path / "missing.md"

    out, err, message = run_failing(binary, empty, folder, good, missing)

    assert "logo.png: error: the file is binary" in err
    assert "empty.md: error: the file is empty" in err
    assert "folder: error: no documents in this folder" in err
    assert "missing.md: error: no such file" in err
    assert "4 of 4 file(s) failed" in message
    assert "cache.md: stored: 1 created" in out
    assert Runbook.objects.count() == 1


def test_json_output_stays_valid_when_some_files_fail(good, tmp_path):
    out, err, _ = run_failing(good, tmp_path / "missing.md", "--dry-run", "--json")

    assert [d["source"] for d in json.loads(out)["documents"]] == [str(good)]
    assert "missing.md: error" in err


@pytest.mark.django_db
def test_the_demo_runbooks_import_well_and_idempotently():
    assert len(DEMO) >= 4
    contract = json.loads(run(*DEMO, "--dry-run", "--json")[0])
    by_name = {Path(d["source"]).name: d for d in contract["documents"]}
    assert sum(len(d["runbooks"]) for d in by_name.values()) >= 6
    matrix = next(d for d in by_name.values() if d["severity_levels"])
    assert [s["name"] for s in matrix["severity_levels"]] == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert matrix["contacts"] and matrix["escalation"]
    commands = [c["text"] for d in by_name.values() for r in d["runbooks"] for s in r["steps"] for c in s["commands"]]
    for wanted in ("uptime", "df -h", "sleep 5; echo done"):
        assert wanted in commands
    assert any(c.startswith("for i in $(seq 1 20)") for c in commands)

    run(*DEMO)
    counts = (Runbook.objects.count(), RunbookVersion.objects.count(), SeverityLevel.objects.count(),
              Contact.objects.count())
    out, _ = run(*DEMO)
    stored_lines = [line for line in out.splitlines() if ": stored: " in line]
    assert len(stored_lines) == len(DEMO)
    assert all("stored: 0 created, 0 updated" in line for line in stored_lines), out
    assert (Runbook.objects.count(), RunbookVersion.objects.count(), SeverityLevel.objects.count(),
            Contact.objects.count()) == counts


def test_check_import_accepts_the_seed_import():
    need(SHARED.is_dir(), "../shared (the seed documents and check_import.py) is not beside the checkout")
    seeds = sorted((SHARED / "seeds").glob("*.txt"))
    out, _ = run(*seeds, "--dry-run", "--json")
    check = subprocess.run(
        [sys.executable, str(SHARED / "tools" / "check_import.py"), str(SHARED / "seeds" / "expected"), "-"],
        input=out, capture_output=True, text=True, timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr


TWO_ALERTS = """# Cache alerts

## Cache Hit Rate Low

1. Warm the cache: `./warm-cache --all`

## Cache Evictions High

1. Raise the memory limit: `./set-cache-limit 4g`
"""


@pytest.mark.django_db
def test_split_chooses_the_reading_and_is_remembered_for_the_document(tmp_path):
    doc = tmp_path / "cache.md"
    doc.write_text(TWO_ALERTS)

    run(doc, "--split=document")
    assert list(Runbook.objects.values_list("title", flat=True)) == ["Cache alerts"]
    assert SourceDocument.objects.get(name="cache.md").split == "document"

    out, _ = run(doc)  # no --split: read as chosen last time
    assert "split document" in out
    assert Runbook.objects.filter(source__name="cache.md").count() == 1

    run(doc, "--split=auto")
    titles = set(Runbook.objects.filter(source__name="cache.md").values_list("title", flat=True))
    assert {"Cache Hit Rate Low", "Cache Evictions High"} <= titles


def test_an_unknown_split_is_refused_with_the_choices(tmp_path):
    doc = tmp_path / "cache.md"
    doc.write_text(TWO_ALERTS)

    with pytest.raises(CommandError, match="invalid choice: 'h9'.*auto.*document.*h2.*h3"):
        call_command("import_runbooks", str(doc), "--split=h9", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_a_folder_imports_its_documents_recursively_each_in_its_own_transaction(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "a" / "one.md").write_text(GOOD)
    (tmp_path / "a" / "b" / "two.markdown").write_text(GOOD.replace("Cache Hit Rate Low", "Queue Full"))
    (tmp_path / "a" / "b" / "three.html.md").write_text(GOOD.replace("Cache Hit Rate Low", "Disk Slow"))
    (tmp_path / "a" / "b" / "notes.txt").write_bytes(b"\x00\x01binary")
    (tmp_path / "a" / "picture.png").write_bytes(b"\x89PNG\r\n")

    out, err, message = run_failing(tmp_path / "a")

    assert sorted(Runbook.objects.values_list("title", flat=True)) == ["Cache Hit Rate Low", "Disk Slow", "Queue Full"]
    assert "notes.txt: error: the file is binary" in err and "picture.png" not in err + out
    assert "1 of 4 file(s) failed" in message


@pytest.mark.django_db
def test_a_document_over_the_limits_is_refused_whole_with_the_limit_named(tmp_path, settings):
    settings.IMPORT_MAX_STEPS = 3
    doc = tmp_path / "big.md"
    doc.write_text("# Big\n\n## Fix\n\n" + "".join(f"{n}. Run `echo {n}`\n" for n in range(1, 6)))

    out, err, message = run_failing(doc)

    assert "big.md holds 5 steps; one document may hold at most 3 (IMPORT_MAX_STEPS)" in err
    assert not Runbook.objects.exists() and not SourceDocument.objects.exists()
