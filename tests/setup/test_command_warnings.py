"""Commands print each warning, not only how many; seed_demo --admin-only makes an empty console's admin."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from runbooks.models import Runbook

pytestmark = pytest.mark.django_db
POLICY = """# Escalation

## Contacts

| Name | Role | Chat |
|---|---|---|
| #war-room | Incident channel | #war-room |

## Escalation

| Severity | Notify | Within | Action |
|---|---|---|---|
| SEV1 | #war-room | 5 minutes | Open the war room |
"""
UNCLOSED = "# Restart the cache\n\n1. Restart it:\n   ```bash\n   systemctl restart redis\n"


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_each_warning_of_storing_is_printed_under_its_document(tmp_path):
    path = tmp_path / "policy.md"
    path.write_text(POLICY)
    out, _ = run("import_runbooks", str(path))
    assert "1 warning" in out
    assert "  warning: SEV1 escalation: Tier 1: #war-room has no webhook URL, so the console cannot post to it." \
        in out


def test_each_warning_of_reading_is_printed_too(tmp_path):
    path = tmp_path / "cache.md"
    path.write_text(UNCLOSED)
    out, err = run("import_runbooks", str(path))
    printed = [line for line in out.splitlines() if line.startswith("  warning: ")]
    assert printed, out
    assert "  warning: a code block opened on line 4 is never closed" in out
    assert Runbook.objects.filter(title="Restart the cache").exists()


def test_with_json_warnings_go_to_stderr_one_per_line(tmp_path):
    path = tmp_path / "policy.md"
    path.write_text(POLICY)
    out, err = run("import_runbooks", "--json", str(path))
    assert out.lstrip().startswith("{")
    assert f"{path}: warning: SEV1 escalation: Tier 1: #war-room has no webhook URL" in err


def test_seed_demo_admin_only_makes_the_admin_alone_and_prints_its_login_once(monkeypatch):
    monkeypatch.delenv("CONSOLE_ADMIN_PASSWORD", raising=False)
    out, _ = run("seed_demo", "--admin-only")
    assert "Admin login: admin / " in out and "Demo users" not in out
    assert list(User.objects.values_list("username", flat=True)) == ["admin"]
    assert User.objects.get().groups.filter(name="Admin").exists()
    again, _ = run("seed_demo", "--admin-only")
    assert "Admin login" not in again
    assert not Runbook.objects.exists()
