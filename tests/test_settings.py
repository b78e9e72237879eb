"""Configuration errors are one clear line; production settings pass `check --deploy`; secrets from files."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_NAMES = ["SECRET_KEY", "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE",
          "CSRF_COOKIE_HTTPONLY", "SECURE_SSL_REDIRECT", "EMAIL_HOST_PASSWORD"]
# No comprehensions: `shell -c` runs the code where a comprehension cannot see the names it defines.
PRINT_SETTINGS = (
    "import json\nfrom django.conf import settings\nout = dict(DB=str(settings.DATABASES['default']['NAME']))\n"
    f"for name in {_NAMES!r}:\n    out[name] = getattr(settings, name)\nprint(json.dumps(out))"
)


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in a clean environment: only what the test gives (no DATABASE_URL or broker from outside)."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
            "CONSOLE_VAR_DIR": str(tmp_path / "var"),  # not there yet, as on a fresh clone
            "DJANGO_SETTINGS_MODULE": "console.settings"}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens on it once the socket closes


def production(**extra: str) -> dict[str, str]:
    return {"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "console.example.com",
            **extra}


def test_debug_off_without_a_secret_key_refuses_to_start_with_one_line(tmp_path):
    line = one_line_error(manage(tmp_path, "check", DEBUG="false"))
    assert "SECRET_KEY" in line


def test_a_boolean_that_is_not_a_boolean_is_one_line(tmp_path):
    line = one_line_error(manage(tmp_path, "check", DEBUG="maybe"))
    assert "DEBUG" in line and "maybe" in line


def test_production_settings_pass_check_deploy(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_malformed_database_url_is_one_line_without_the_url(tmp_path):
    line = one_line_error(manage(tmp_path, "check", DEBUG="true", DATABASE_URL="nonsense-with-secret"))
    assert "DATABASE_URL" in line
    assert "secret" not in line


def test_a_database_url_for_another_engine_is_refused(tmp_path):
    line = one_line_error(manage(tmp_path, "check", DEBUG="true", DATABASE_URL="mysql://u:p@db/console"))
    assert "postgres://" in line


def test_preflight_names_database_url_when_the_database_is_unreachable(tmp_path):
    url = f"postgres://console:hunter2@127.0.0.1:{closed_port()}/console"
    line = one_line_error(manage(tmp_path, "preflight", DEBUG="true", DATABASE_URL=url))
    assert "DATABASE_URL" in line
    assert "hunter2" not in line


def test_preflight_names_the_broker_url_when_redis_is_unreachable(tmp_path):
    url = f"redis://:hunter2@127.0.0.1:{closed_port()}/0"
    line = one_line_error(manage(tmp_path, "preflight", DEBUG="true", CELERY_BROKER_URL=url))
    assert "CELERY_BROKER_URL" in line
    assert "hunter2" not in line


def test_preflight_passes_with_the_local_defaults(tmp_path):
    result = manage(tmp_path, "preflight", DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert "reachable" in result.stdout


def test_secrets_can_come_from_files(tmp_path):
    (tmp_path / "key").write_text("k" * 60 + "\n")
    (tmp_path / "db").write_text(f"sqlite:///{tmp_path}/from-file.sqlite3\n")
    (tmp_path / "mail").write_text("smtp-pass\n")
    result = manage(tmp_path, "shell", "-v", "0", "-c", PRINT_SETTINGS, DEBUG="false", ALLOWED_HOSTS="x",
                    SECRET_KEY_FILE=str(tmp_path / "key"), DATABASE_URL_FILE=str(tmp_path / "db"),
                    EMAIL_HOST_PASSWORD_FILE=str(tmp_path / "mail"))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["SECRET_KEY"] == "k" * 60
    assert values["DB"] == f"{tmp_path}/from-file.sqlite3"
    assert values["EMAIL_HOST_PASSWORD"] == "smtp-pass"


def test_a_secret_file_that_cannot_be_read_is_one_line(tmp_path):
    line = one_line_error(manage(tmp_path, "check", DEBUG="false", SECRET_KEY_FILE=str(tmp_path / "missing")))
    assert "SECRET_KEY_FILE" in line


@pytest.mark.parametrize(("https", "secure"), [("true", True), ("false", False)])
def test_cookies_are_secure_over_https_and_always_http_only(tmp_path, https, secure):
    result = manage(tmp_path, "shell", "-v", "0", "-c", PRINT_SETTINGS, **production(HTTPS=https))
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["SESSION_COOKIE_SECURE"] is secure
    assert values["CSRF_COOKIE_SECURE"] is secure
    assert values["SECURE_SSL_REDIRECT"] is secure
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_HTTPONLY"] is True


def test_https_is_the_default_in_production(tmp_path):
    result = manage(tmp_path, "shell", "-v", "0", "-c", PRINT_SETTINGS, **production())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True


def test_every_variable_settings_reads_is_documented_in_the_readme():
    source = (ROOT / "console" / "settings.py").read_text()
    names = set(re.findall(r'(?:env_\w+|os\.environ\.get)\("([A-Z][A-Z0-9_]+)"', source))
    readme = (ROOT / "README.md").read_text()
    assert names, "no environment variables found in settings.py"
    assert sorted(n for n in names if f"`{n}`" not in readme) == []


def test_a_commands_worker_loads_without_a_secret_key_and_the_web_refuses_that_role(tmp_path):
    shown = manage(tmp_path, "shell", "-c", "from django.conf import settings; print(len(settings.SECRET_KEY))",
                   DEBUG="false", CONSOLE_ROLE="commands-worker")
    assert shown.returncode == 0, shown.stderr
    assert int(shown.stdout.strip().splitlines()[-1]) >= 50  # a throwaway key of its own, never a known default
    web = subprocess.run([sys.executable, "-c", "import console.wsgi"], cwd=ROOT, capture_output=True, text=True,
                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DEBUG": "false",
                              "CONSOLE_ROLE": "commands-worker", "CONSOLE_VAR_DIR": str(tmp_path / "var")})
    assert web.returncode != 0 and "CONSOLE_ROLE=commands-worker serves no pages" in web.stderr


def test_a_role_or_trusted_proxy_that_makes_no_sense_is_one_line(tmp_path):
    assert "CONSOLE_ROLE" in one_line_error(manage(tmp_path, "check", **production(CONSOLE_ROLE="bastion")))
    assert "TRUSTED_PROXIES" in one_line_error(manage(tmp_path, "check", **production(TRUSTED_PROXIES="proxy.lan")))


def test_x_forwarded_proto_alone_does_not_make_a_request_secure(settings):
    """gunicorn decides the scheme from its trusted proxies (--forwarded-allow-ips); Django must not re-decide."""
    from django.test import RequestFactory

    assert getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is None
    request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
    assert request.is_secure() is False
    assert RequestFactory().get("/", secure=True).is_secure() is True


@pytest.mark.parametrize(("env", "seconds", "warned"), [
    ({"FRAGMENT_CACHE_SECONDS": "5"}, 5, True),  # the old name, read for one more release
    ({"FRAGMENT_CACHE_SECONDS": "5", "PAGE_CACHE_SECONDS": "7"}, 7, False),
    ({"PAGE_CACHE_SECONDS": "0"}, 0, False),
])
def test_the_page_cache_settings_accept_their_old_names_for_now(tmp_path, env, seconds, warned):
    code = "from django.conf import settings\nprint(settings.PAGE_CACHE_SECONDS)"
    result = manage(tmp_path, "shell", "-v", "0", "-c", code, **production(**env))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(seconds)
    assert ("FRAGMENT_CACHE_SECONDS is now called PAGE_CACHE_SECONDS" in result.stderr) is warned
