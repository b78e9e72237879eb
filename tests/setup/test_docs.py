"""The guides' snippets, taken from the pages themselves and checked for what can be checked here.

- getting started: every command runs, in order, on a fresh checkout's var/ (no exports, a real `make run`);
- Alertmanager: the receiver's URL exists and takes the token the way Alertmanager sends it;
- the API: the curl example runs against a live server with a real token;
- deploying and notifications: every variable they set is one compose passes on and settings read, and the
  bastion's compose file gives the commands worker what it needs and nothing it must not have;
- backup and upgrading: the commands name services and databases the compose file has; pg_dump/pg_restore
  round-trip a real database; the manage.py commands run.
Docker itself cannot run here, so `docker compose` lines are checked against docker-compose.yml, not run.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import io
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest
import yaml
from django.core.management import call_command
from markdown_it import MarkdownIt

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SETTINGS_SOURCE = (ROOT / "console" / "settings.py").read_text()
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
WEBHOOK_CONFIG_KEYS = {"url", "url_file", "send_resolved", "http_config", "max_alerts", "timeout"}
GUIDES = ["getting-started", "alertmanager", "notifications", "deploying", "backup", "upgrading", "api"]


# --- reading the pages ----------------------------------------------------------------------------------

def fences(name: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block of docs/<name>.md."""
    tokens = MarkdownIt("commonmark").parse((DOCS / f"{name}.md").read_text())
    return [(t.info.strip(), t.content) for t in tokens if t.type == "fence"]


def blocks(name: str, language: str) -> list[str]:
    return [text for info, text in fences(name) if info == language]


def commands(text: str) -> list[str]:
    """Shell lines of a block, `\\` continuations joined, comments dropped."""
    out, pending = [], ""
    for line in text.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line and not line.startswith("#"):
            out.append(line)
    return out


def env_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in commands(text))


def settings_reads(name: str) -> bool:
    return bool(re.search(rf'"{name}"', SETTINGS_SOURCE))


def compose_interpolates(name: str) -> bool:
    return bool(re.search(rf"\$\{{{name}(?::?[-?]|\}})", COMPOSE_TEXT))


def compose_services(line: str) -> list[str]:
    """The services a `docker compose ...` line names (exec/run: the one it runs in; stop/up: those listed)."""
    words = shlex.split(line.split("|")[0].split(">")[0].split("<")[0])
    assert words[:2] == ["docker", "compose"], line
    words = words[2:]
    while words and words[0] == "-f":
        words = words[2:]
    verb, rest = words[0], words[1:]
    named, skip = [], False
    for word in rest:
        if skip:
            skip = False
            continue
        if word in ("-v", "--volume", "-e", "--env", "-u", "--user", "-w"):
            skip = True
            continue
        if word.startswith("-"):
            continue
        named.append(word)
        if verb in ("exec", "run", "logs"):
            break
    return named if verb in ("exec", "run", "stop", "logs", "restart") else []


def test_every_guide_holds_only_snippets_these_tests_check():
    for name in GUIDES:
        for info, _ in fences(name):
            assert info in {"sh", "yaml"}, f"docs/{name}.md: a ```{info} block no test checks"


def test_every_docker_compose_line_of_every_guide_names_services_the_compose_file_has():
    for name in GUIDES:
        for text in blocks(name, "sh"):
            for line in commands(text):
                if line.startswith("docker compose") and "-f docker-compose.bastion.yml" not in line:
                    for service in compose_services(line):
                        assert service in COMPOSE["services"], f"docs/{name}.md: {line}: no service {service}"


# --- getting started: every command, on a fresh var/, nothing exported ----------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A command that serves (make run), started as a terminal would, stopped as Ctrl-C would."""

    def __init__(self, line: str, env: dict[str, str], log: Path):
        self.log, self.port = log, int(env["PORT"])
        self.proc = subprocess.Popen(["bash", "-c", line], cwd=ROOT, env=env, stdout=log.open("wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, path: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"it exited with {self.proc.returncode}:\n{self.output}")
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as answer:
                if answer.status == 200:
                    return
            time.sleep(0.5)
        pytest.fail(f"nothing served {path} within {timeout} s:\n{self.output}")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        family = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        _, alive = psutil.wait_procs(family, timeout=30)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()


def fresh_checkout_env(tmp_path: Path) -> dict[str, str]:
    """What a newcomer's shell has: PATH and HOME; var/ where the test can throw it away."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8",
            "CONSOLE_VAR_DIR": str(tmp_path / "var"), "PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1"}  # a terminal shows output line by line; a file would get it at exit


def logged_in(port: int, username: str, password: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
    request = urllib.request.Request(f"{base}/accounts/login/", data=data.encode(),
                                     headers={"Referer": f"{base}/accounts/login/"})
    opener.open(request, timeout=10).read()
    return opener


def test_getting_started_runs_as_written_on_a_fresh_database(tmp_path):
    # make run starts its own Celery worker and beat on the filesystem broker: no service of the suite is used
    env = fresh_checkout_env(tmp_path)
    lines = [line for text in blocks("getting-started", "sh") for line in commands(text)]
    assert lines[0].startswith("make run") and any(line.startswith("make import") for line in lines)
    served: list[Served] = []
    try:
        for n, line in enumerate(lines):
            if line.startswith("make run"):
                server = Served(line, env, tmp_path / f"serve-{n}.log")
                served.append(server)
                server.wait_for("/accounts/login/")
                continue
            done = subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=300)
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            if line.startswith("make import"):
                assert "stored:" in done.stdout and "read as:" in done.stdout, done.stdout
        (server,) = served
        login = re.search(r"Admin login: (\S+) / (\S+)", server.output)
        assert login, server.output
        assert "Demo users" not in server.output  # an empty console: the admin alone
        opener = logged_in(server.port, *login.groups())
        base = f"http://127.0.0.1:{server.port}"
        setup = opener.open(f"{base}/setup/", timeout=30).read().decode()
        assert "3 runbooks from 3 documents" in setup
        assert "SEV1, SEV2, SEV3, SEV4" in setup
        assert "#incidents has no webhook URL" in setup  # the import's warning, shown with its document
        dashboard = opener.open(f"{base}/", timeout=30).read().decode()
        assert "Demo:" not in dashboard
    finally:
        for server in served:
            server.stop()
    assert (tmp_path / "var" / "local.env").exists()


def test_make_import_alone_works_on_a_fresh_clone_without_exports(tmp_path):
    env = fresh_checkout_env(tmp_path)
    done = subprocess.run(["make", "import", "PATHS=docs/runbooks"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "docs/runbooks/api-error-rate.md: stored: 1 created" in done.stdout
    assert "  warning: SEV1 escalation: Tier 1: #incidents has no webhook URL" in done.stdout
    again = subprocess.run(["make", "import", "PATHS=docs/runbooks"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0 and "0 created, 0 updated, 1 unchanged" in again.stdout


def test_make_import_without_paths_says_how_to_use_it(tmp_path):
    done = subprocess.run(["make", "--no-print-directory", "import"], cwd=ROOT, env=fresh_checkout_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and 'usage: make import PATHS="docs/runbooks"' in done.stderr


# --- Alertmanager: the receiver's URL and token shape ----------------------------------------------------------

def _alertmanager_payload() -> dict:
    return {"version": "4", "groupKey": '{}:{alertname="ApiErrorRateHigh"}', "truncatedAlerts": 0,
            "status": "firing", "receiver": "incident-console", "groupLabels": {"alertname": "ApiErrorRateHigh"},
            "commonLabels": {"alertname": "ApiErrorRateHigh", "severity": "critical"}, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [{"status": "firing", "labels": {"alertname": "ApiErrorRateHigh", "severity": "critical"},
                        "annotations": {"summary": "5xx above 2%"}, "startsAt": "2026-03-02T03:00:00Z",
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph",
                        "fingerprint": "a1b2c3"}]}


@pytest.mark.django_db
def test_the_alertmanager_receiver_reaches_the_webhook_and_its_token_is_accepted(client, settings):
    from incidents.models import Incident
    from tests.factories import make_severities

    make_severities()
    settings.CONSOLE_URL = "https://console.example.com"
    (line,) = [line for text in blocks("alertmanager", "sh") for line in commands(text)]
    words = shlex.split(line)
    assert words[:3] == [".venv/bin/python", "manage.py", "create_integration"], line
    out = io.StringIO()
    call_command(*words[2:], stdout=out)
    printed = out.getvalue().strip().splitlines()
    token = printed[-1]
    (url_line,) = [p for p in printed if p.startswith("URL: ")]

    receivers, route = (yaml.safe_load(text) for text in blocks("alertmanager", "yaml"))
    (receiver,) = receivers["receivers"]
    (hook,) = receiver["webhook_configs"]
    assert set(hook) <= WEBHOOK_CONFIG_KEYS, f"not a webhook_config key: {set(hook) - WEBHOOK_CONFIG_KEYS}"
    assert hook["url"] == url_line.removeprefix("URL: "), "the snippet's URL is not the one create_integration prints"
    auth = hook["http_config"]["authorization"]
    assert "<token" in auth["credentials"]  # a placeholder, to be replaced by the token
    assert route["route"]["routes"][0]["receiver"] == receiver["name"]

    # What Alertmanager sends: "Authorization: <type, default Bearer> <credentials>"
    header = f"{auth.get('type', 'Bearer')} {token}"
    path = urllib.parse.urlsplit(hook["url"]).path
    answer = client.post(path, data=json.dumps(_alertmanager_payload()), content_type="application/json",
                         HTTP_AUTHORIZATION=header)
    assert answer.status_code == 200, answer.content
    assert Incident.objects.get().alerts.count() == 1  # the alert opened an incident
    wrong = client.post(path, data=json.dumps(_alertmanager_payload()), content_type="application/json",
                        HTTP_AUTHORIZATION=f"{auth.get('type', 'Bearer')} {auth['credentials']}")
    assert wrong.status_code == 401  # the placeholder itself is not a token


# --- the API: the curl example against a live server ---------------------------------------------------------

@pytest.fixture
def api_server():
    """A live server on plain HTTP, as the console behind its TLS proxy sees a request (SECURE_SSL_REDIRECT, read
    once as the server starts, off): curl talks to it as it would to CONSOLE_URL."""
    from django.test import override_settings
    from pytest_django.live_server_helper import LiveServer

    with override_settings(SECURE_SSL_REDIRECT=False):
        server = LiveServer("localhost", start=False)
        server.start()
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_the_curl_example_answers_against_a_live_server_with_a_real_token(api_server):
    import shutil

    from incidents.models import Incident
    from tests.conftest import make_user
    from tests.factories import make_runbook, make_severities

    need(bool(shutil.which("curl")), "the curl example needs curl")
    make_severities()
    make_runbook("API error rate high", alerts=["ApiErrorRateHigh"])
    make_user("admin", "Admin", is_staff=True, is_superuser=True)
    first, *rest = blocks("api", "sh")
    setup_lines = commands(first)
    assert setup_lines[0].startswith("export CONSOLE_URL=")
    token_line = setup_lines[1]
    inner = re.fullmatch(r"export TOKEN=\$\((.+) \| tail -n 1\)", token_line)
    assert inner, token_line
    words = shlex.split(inner.group(1))
    assert words[:3] == [".venv/bin/python", "manage.py", "create_api_token"]
    out = io.StringIO()
    call_command(*words[2:], stdout=out)
    token = out.getvalue().strip().splitlines()[-1]

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CONSOLE_URL": api_server.url, "TOKEN": token}
    for text in rest:
        script = "set -euo pipefail\n" + text
        done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{text}\n{done.stdout}\n{done.stderr}"
        answers, at, decoder = [], 0, json.JSONDecoder()
        text_out = done.stdout.strip()
        while at < len(text_out):  # curl prints each answer without a newline after it
            answer, at = decoder.raw_decode(text_out, at)
            answers.append(answer)
            while at < len(text_out) and text_out[at].isspace():
                at += 1
        assert answers, "no answer"
    incident = Incident.objects.get(title="Checkout is slow")
    assert incident.status == "resolved" and incident.acknowledged_at is not None
    assert incident.severity.name == "SEV2"
    assert incident.timeline.filter(message__contains="Rolled back the 14:00 deploy").exists()
    assert "API error rate high" in done.stdout  # the match example found the runbook


# --- deploying and notifications: variables and the bastion's compose file ---------------------------------------

def test_every_variable_the_deploying_env_file_sets_is_one_compose_passes_on():
    (env_block, *_) = blocks("deploying", "sh")
    names = env_lines(env_block)
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "CONSOLE_URL", "POSTGRES_PASSWORD"} <= set(names)
    for name in names:
        assert compose_interpolates(name), f"docker-compose.yml never uses ${{{name}}}: setting it does nothing"


def test_every_variable_of_the_notifications_page_is_read_by_settings_and_passed_on_by_compose():
    (env_block,) = blocks("notifications", "sh")
    env_names = set(COMPOSE["x-env"])
    for name in env_lines(env_block):
        assert settings_reads(name), f"settings.py never reads {name}"
        assert name in env_names and compose_interpolates(name), f"compose does not pass {name} to the console"


def test_the_bastion_compose_file_gives_the_commands_worker_what_it_needs_and_nothing_it_must_not_have():
    bastion, override = (yaml.safe_load(text) for text in blocks("deploying", "yaml"))
    (name,) = bastion["services"]
    worker = bastion["services"][name]
    ours = COMPOSE["services"]["commands-worker"]
    env = worker["environment"]
    for key in env:
        assert settings_reads(key), f"settings.py never reads {key}"
    assert env["CONSOLE_ROLE"] == "commands-worker" and env["DEBUG"] == "false"
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "COMMAND_RUN_USER"} <= set(env)
    assert not {"SECRET_KEY", "SECRET_KEY_FILE", "EMAIL_HOST_PASSWORD", "CACHE_URL", "ALLOWED_HOSTS"} & set(env)
    assert "ports" not in worker
    assert worker["command"] == ours["command"]  # -Q commands, nothing else
    assert worker["image"] == ours["image"] and worker["user"] == "0:0"
    assert "no-new-privileges:true" in worker["security_opt"]
    assert all(volume.endswith(":ro") for volume in worker.get("volumes", []))
    for service, spec in override["services"].items():
        assert service in COMPOSE["services"]
        for port in spec["ports"]:
            assert not port.startswith(("0.0.0.0", "::")) and port.count(":") == 2, "publish on a private address"


def test_the_compose_file_validates_against_the_settings():
    for name, service in COMPOSE["services"].items():
        for key in service.get("environment", {}) or {}:
            if name not in ("postgres", "redis"):
                assert settings_reads(key), f"{name}: settings.py never reads {key}"


# --- backup and upgrading ----------------------------------------------------------------------------------------

def _pg_lines(name: str) -> list[str]:
    return [line for text in blocks(name, "sh") for line in commands(text) if " pg_dump " in line
            or " pg_restore " in line]


def test_the_backup_commands_name_the_compose_database_and_its_user():
    db = COMPOSE["services"]["postgres"]["environment"]
    lines = _pg_lines("backup") + _pg_lines("upgrading")
    assert len(lines) >= 3
    for line in lines:
        words = shlex.split(line.split(">")[0].split("<")[0])
        assert words[:5] == ["docker", "compose", "exec", "-T", "postgres"], line
        assert words[words.index("-U") + 1] == db["POSTGRES_USER"] and words[words.index("-d") + 1] == db["POSTGRES_DB"]


def _on_test_database(line: str, url: str) -> str:
    """A backup line run against the test's PostgreSQL instead of inside the compose container."""
    line = line.replace("docker compose exec -T postgres ", "")
    line = re.sub(r"-U \S+ -d \S+", f"-d {shlex.quote(url)}", line)
    return line


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_backup_restores_a_real_database(tmp_path, postgres):
    import psycopg

    from runbooks.models import Runbook
    from tests.factories import make_runbook
    from tests.incidents.conftest import database_url_for_workers

    need(bool(subprocess.run(["bash", "-c", "command -v pg_dump pg_restore"], capture_output=True).returncode == 0),
         "pg_dump and pg_restore are needed")
    make_runbook("Backed up runbook")
    source = database_url_for_workers()
    dump, restore = _pg_lines("backup")
    done = subprocess.run(["bash", "-c", _on_test_database(dump, source)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    Runbook.objects.all().delete()  # lose the data; the restore brings it back
    done = subprocess.run(["bash", "-c", _on_test_database(restore, source)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(source) as conn:
        (title,) = conn.execute("SELECT title FROM runbooks_runbook").fetchone()
    assert title == "Backed up runbook"


def test_the_sqlite_backup_of_make_run_copies_a_live_database(tmp_path):
    import sqlite3

    var = tmp_path / "var"
    var.mkdir()
    with sqlite3.connect(var / "console.sqlite3") as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (42)")
    (line,) = [line for text in blocks("backup", "sh") for line in commands(text) if "sqlite3" in line]
    line = line.replace("'var/", f"'{var}/").replace(".venv/bin/python", sys.executable)
    done = subprocess.run(["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(var / "console-backup.sqlite3") as copy:
        assert copy.execute("SELECT x FROM t").fetchone() == (42,)


def test_the_upgrade_preview_commands_run_on_a_fresh_checkout(tmp_path):
    env = fresh_checkout_env(tmp_path)
    subprocess.run([sys.executable, "-m", "console.localenv"], cwd=ROOT, env=env, check=True, capture_output=True)
    lines = [line for text in blocks("upgrading", "sh") for line in commands(text) if "manage.py" in line]
    assert lines
    for line in lines:
        done = subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        assert "runbooks" in done.stdout  # the migrations it would apply, named
    upgrade = [line for text in blocks("upgrading", "sh") for line in commands(text)]
    assert "docker compose up -d" in upgrade and "migrate" in COMPOSE["services"]
    assert all(service.get("depends_on", {}).get("migrate", {}).get("condition") == "service_completed_successfully"
               for name, service in COMPOSE["services"].items() if name in ("web", "worker", "beat"))
