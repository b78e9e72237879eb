"""var/local.env: manage.py works on a developer machine without exporting anything; production still refuses
to start without its own SECRET_KEY."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from console import localenv

ROOT = Path(__file__).resolve().parents[2]
SHOW = ("import json; from django.conf import settings; print(json.dumps({'debug': settings.DEBUG, "
        "'key': settings.SECRET_KEY, 'fallbacks': list(getattr(settings, 'SECRET_KEY_FALLBACKS', []))}))")


def manage(var: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py with nothing exported: only PATH, HOME and where var/ is (as on a fresh clone)."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(var.parent), "CONSOLE_VAR_DIR": str(var)}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def shown(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def write(var: Path) -> Path:
    made = subprocess.run([sys.executable, "-m", "console.localenv"], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": os.environ.get("PATH", ""), "CONSOLE_VAR_DIR": str(var)}, timeout=60)
    assert made.returncode == 0, made.stderr
    return localenv.path_for(var)


def test_without_the_file_and_without_a_key_manage_py_refuses_and_says_how_to_get_one(tmp_path):
    result = manage(tmp_path / "var", "check")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "SECRET_KEY is not set" in line and "make run" in line and "local.env" in line


def test_with_the_file_make_writes_every_manage_py_command_works_unexported(tmp_path):
    var = tmp_path / "var"
    path = write(var)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the key signs sessions: readable by its owner only
    key = localenv.read(path)["SECRET_KEY"]
    assert len(key) >= 50
    assert manage(var, "check").returncode == 0
    values = shown(manage(var, "shell", "-v", "0", "-c", SHOW))
    assert values["debug"] is True and values["key"] == key
    assert values["fallbacks"] == ["insecure-dev-key-only-for-debug"]  # older dev data stays readable


def test_writing_again_keeps_the_key(tmp_path):
    var = tmp_path / "var"
    first = localenv.read(write(var))
    assert localenv.read(write(var)) == first


def test_the_environment_wins_over_each_line(tmp_path):
    var = tmp_path / "var"
    key = localenv.read(write(var))["SECRET_KEY"]
    values = shown(manage(var, "shell", "-v", "0", "-c", SHOW, DEBUG="false"))
    assert values["debug"] is False and values["key"] == key


def test_an_environment_with_its_own_secret_key_reads_nothing_from_the_file(tmp_path):
    var = tmp_path / "var"
    write(var)
    own = "k" * 60
    values = shown(manage(var, "shell", "-v", "0", "-c", SHOW, SECRET_KEY=own, ALLOWED_HOSTS="x"))
    assert values["key"] == own and values["debug"] is False and values["fallbacks"] == []


def test_lines_added_to_the_file_are_read_like_the_environment(tmp_path):
    var = tmp_path / "var"
    path = write(var)
    path.write_text(path.read_text() + "# a comment\nEMAIL_HOST=smtp.example.org\nnot a line\nlower=ignored\n")
    code = "from django.conf import settings; print(settings.EMAIL_HOST)"
    result = manage(var, "shell", "-v", "0", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "smtp.example.org"


def test_the_test_suite_itself_never_reads_it():
    from django.conf import settings

    assert settings.LOCAL_ENV == {}


def test_the_image_never_carries_a_local_file():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "var" in ignored
    assert "var/" in (ROOT / ".gitignore").read_text().split()
