"""Commands cannot read the worker's secrets: another user, a scrubbed environment, a sandbox (real runs)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from incidents import execution
from incidents.execution import CommandRefused, isolation
from tests.conftest import need
from tests.incidents.test_execution import run_bash

DB_PASSWORD = "worker-db-password-5e1f"
KEY = "worker-secret-key-9a7c"


@pytest.fixture
def worker_secrets(monkeypatch):
    """What a worker holds: a database URL with a password and a key in its environment, a file of its own
    (outside /tmp, which the sandbox replaces with its own)."""
    monkeypatch.setenv("DATABASE_URL", f"postgres://console:{DB_PASSWORD}@db:5432/console")
    monkeypatch.setenv("SECRET_KEY", KEY)
    folder = Path(tempfile.mkdtemp(prefix="console-worker-", dir="/var/tmp"))
    os.chmod(folder, 0o755)  # the folder is open; the file is the worker's alone
    private = folder / "worker-only.txt"
    private.write_text(f"{DB_PASSWORD}\n")
    private.chmod(0o600)
    yield private
    shutil.rmtree(folder, ignore_errors=True)


def apart(run_user, sandbox: str) -> execution.Isolation:
    need(os.geteuid() == 0 and run_user is not None, "switching users needs the tests to run as root")
    if sandbox == "on":
        need(shutil.which("bwrap") is not None, "bubblewrap is not installed (tests/services.py installs it)")
    chosen = isolation.resolve(run_user, sandbox=sandbox)
    assert not chosen.refused, chosen.refused
    return chosen


PROBES = {"echo", "cat", "id", "tr", "ls", "grep", "touch", "head", "env"}
READ_SECRETS = ("cat /proc/$PPID/environ | tr '\\0' '\\n'; echo; cat /proc/*/environ 2>&1 | tr '\\0' '\\n'; "
                "env; cat {private}; id -un")


@pytest.mark.parametrize("sandbox", ["off", "on"])
def test_a_command_cannot_read_the_workers_environment_or_files(worker_secrets, run_user, sandbox):
    chosen = apart(run_user, sandbox)
    result = run_bash(READ_SECRETS.format(private=worker_secrets), PROBES, isolation=chosen)
    assert DB_PASSWORD not in result.output and KEY not in result.output
    assert "Permission denied" in result.output
    assert result.output.strip().splitlines()[-1] == run_user
    assert "DATABASE_URL" not in result.output


def test_inside_the_sandbox_the_host_is_read_only_with_its_own_tmp_and_processes(run_user, tmp_path):
    chosen = apart(run_user, "on")
    marker = tmp_path / "host-file"
    marker.write_text("x")
    script = ("touch /etc/console-sandbox-test 2>&1 | head -1; ls /tmp | head -5; echo procs; ls /proc | "
              "grep -c '^[0-9]'; touch written-here && echo wrote; echo x > ~/.curlrc 2>&1 | head -1")
    result = run_bash(script, PROBES, isolation=chosen)
    lines = result.output.splitlines()
    assert "Read-only file system" in lines[0] or "Permission denied" in lines[0]
    assert "procs" in lines and int(lines[lines.index("procs") + 1]) < 10  # not the host's hundreds
    assert "wrote" in lines
    assert not os.path.exists("/etc/console-sandbox-test")
    assert any("Permission denied" in line or "Read-only" in line for line in lines[-1:])


def test_the_script_is_not_on_the_command_line_other_users_see(run_user):
    chosen = apart(run_user, "off")
    result = run_bash("cat /proc/$$/cmdline | tr '\\0' ' '; echo", PROBES, isolation=chosen)
    assert "cat /proc" not in result.output and "--noprofile --norc" in result.output


def test_without_a_run_user_commands_are_refused_unless_the_risk_is_accepted():
    refused = isolation.resolve("", allow_same_user=False)
    assert "COMMAND_RUN_USER is not set" in refused.refused
    with pytest.raises(CommandRefused, match="refuses to run commands: COMMAND_RUN_USER is not set"):
        run_bash("echo hi", isolation=refused)
    accepted = isolation.resolve("", allow_same_user=True, sandbox="off")
    assert not accepted.refused and not accepted.separate_user
    assert "COMMAND_ALLOW_SAME_USER=true" in accepted.summary
    assert run_bash("echo hi", isolation=accepted).output == "hi\n"


def test_a_worker_that_cannot_switch_users_refuses_and_says_how_to_fix_it(monkeypatch, run_user):
    need(run_user is not None, "needs a run user")
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 4242)
    chosen = isolation.resolve(run_user)
    assert "the worker runs as uid 4242, which cannot start commands as" in chosen.refused
    assert "COMMAND_ALLOW_SAME_USER=true" in chosen.refused


def test_root_and_unknown_users_are_refused_as_run_users():
    assert "unprivileged" in isolation.resolve("root").refused
    assert "no such user" in isolation.resolve("no-such-user-here").refused
    assert "COMMAND_SANDBOX" in isolation.resolve("", allow_same_user=True, sandbox="maybe").refused


def test_a_sandbox_that_cannot_run_is_named_or_refused_when_required(monkeypatch, run_user):
    monkeypatch.setattr(isolation.shutil, "which", lambda *a, **k: None)
    auto = isolation.resolve("", allow_same_user=True, sandbox="auto")
    assert auto.sandbox is None and "no sandbox (bubblewrap is not installed)" in auto.summary
    required = isolation.resolve("", allow_same_user=True, sandbox="on")
    assert "COMMAND_SANDBOX=on, but bubblewrap cannot run here" in required.refused
