"""docker compose cannot run here: read docker-compose.yml and check it against the settings and queues."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ["web", "worker", "commands-worker", "beat"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _queues(command: list[str]) -> set[str]:
    return set(command[command.index("-Q") + 1].split(",")) if "-Q" in command else set()


def _workers(compose: dict) -> dict[str, list[str]]:
    return {name: svc["command"] for name, svc in compose["services"].items()
            if isinstance(svc.get("command"), list) and "worker" in svc["command"][:4]}


def test_every_service_is_there(compose):
    assert set(compose["services"]) >= {"postgres", "redis", "migrate", *APP_SERVICES}


def test_every_route_names_a_task_that_exists():
    from celery import current_app

    current_app.loader.import_default_modules()  # what a worker imports at start: every app's tasks module
    assert set(settings.CELERY_TASK_ROUTES) - set(current_app.tasks) == set()
    assert set(settings.CELERY_TASK_ROUTES) >= {"incidents.tasks.run_command"}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in current_app.tasks


def test_every_routed_queue_and_default_is_consumed_by_some_worker(compose):
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {settings.CELERY_TASK_DEFAULT_QUEUE}
    consumed = set().union(*(_queues(cmd) for cmd in _workers(compose).values()))
    assert routed - consumed == set()
    assert "default" in consumed


def test_the_commands_worker_consumes_only_commands(compose):
    assert _queues(compose["services"]["commands-worker"]["command"]) == {"commands"}
    others = [name for name, cmd in _workers(compose).items() if "commands" in _queues(cmd)]
    assert others == ["commands-worker"]


def test_every_environment_variable_is_read_by_settings(compose):
    source = (ROOT / "console" / "settings.py").read_text()
    for name in ["migrate", *APP_SERVICES]:
        env = compose["services"][name]["environment"]
        for key in env:
            assert re.search(rf'"{key}"', source), f"{name}: settings.py never reads {key}"
        assert env["DEBUG"] == "false"
        assert {"DATABASE_URL", "CELERY_BROKER_URL"} <= set(env)
        if name != "commands-worker":
            assert {"CACHE_URL", "SECRET_KEY", "ALLOWED_HOSTS"} <= set(env)


def test_the_commands_worker_gets_only_what_it_needs_and_runs_commands_as_another_user(compose):
    worker = compose["services"]["commands-worker"]
    env = worker["environment"]
    assert env["CONSOLE_ROLE"] == "commands-worker"
    for web_only in ("SECRET_KEY", "EMAIL_HOST_PASSWORD", "EMAIL_HOST_USER", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS",
                     "CACHE_URL"):
        assert web_only not in env
    assert str(worker["user"]).split(":")[0] == "0"  # root, only to start commands as the run user
    assert "no-new-privileges:true" in worker["security_opt"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    run_user = env["COMMAND_RUN_USER"]
    assert re.search(rf"useradd .*\\\n\s+{run_user} ", dockerfile), "the image makes the run user"
    assert "bubblewrap" in dockerfile


def test_only_the_web_port_is_published_and_on_loopback_unless_configured(compose):
    published = {name: svc["ports"] for name, svc in compose["services"].items() if svc.get("ports")}
    assert list(published) == ["web"]
    (port,) = published["web"]
    assert port.startswith("${WEB_BIND:-127.0.0.1}:")


def test_gunicorn_trusts_forwarded_headers_only_from_the_configured_proxies(compose):
    command = compose["services"]["web"]["command"]
    assert command[command.index("--forwarded-allow-ips") + 1] == "${TRUSTED_PROXIES:-127.0.0.1}"
    assert compose["services"]["web"]["environment"]["TRUSTED_PROXIES"] == "${TRUSTED_PROXIES:-127.0.0.1}"


def test_postgres_and_redis_have_healthchecks(compose):
    assert "pg_isready" in " ".join(compose["services"]["postgres"]["healthcheck"]["test"])
    assert "ping" in compose["services"]["redis"]["healthcheck"]["test"]


def test_migrate_checks_then_migrates_then_collects_static(compose):
    command = " ".join(compose["services"]["migrate"]["command"])
    assert re.search(r"preflight && .*migrate --noinput && .*collectstatic", command)
    assert compose["services"]["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_web_and_workers_wait_for_migrate_to_finish(compose, service):
    depends = compose["services"][service]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["postgres"]["condition"] == "service_healthy"


def test_web_runs_gunicorn_with_several_workers(compose):
    command = compose["services"]["web"]["command"]
    assert command[:2] == ["gunicorn", "console.wsgi"]
    assert int(command[command.index("--workers") + 1]) >= 2
    assert "--no-control-socket" in command


def test_the_image_runs_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11-slim")
    assert "pip install ." in dockerfile
    user = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert user and user[-1] not in {"root", "0"}
