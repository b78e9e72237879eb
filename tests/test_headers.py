"""Headers and small holes: CSP with nothing inline, password rules, links, terminal codes in output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from console.headers import POLICY
from runbooks.markdown import render_markdown

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/", "/runbooks/", "/healthz"])
def test_every_answer_carries_a_policy_of_the_consoles_own_scripts_and_styles(client, admin_user, path):
    client.force_login(admin_user)
    header = client.get(path)["Content-Security-Policy"]
    assert header == POLICY
    assert "script-src 'self'" in header and "style-src 'self'" in header
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    assert "frame-ancestors 'none'" in header and "object-src 'none'" in header


@pytest.mark.parametrize("template", TEMPLATES, ids=[str(t.relative_to(ROOT)) for t in TEMPLATES])
def test_no_template_holds_inline_script_style_or_htmx_code(template):
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")", text), "inline <script>"
    assert "<style" not in text, "inline <style>: put it in static/css/"
    assert not re.search(r"\sstyle=", text), "a style attribute: use a class"
    assert not re.search(r"\shx-on[:-]", text), "an hx-on handler: htmx may not eval (static/js/console.js)"
    assert not re.search(r'hx-trigger="[^"]*\[', text), "an hx-trigger filter is code htmx may not eval"
    assert not re.search(r'hx-vals=["\']\s*js:|hx-vars=', text), "hx-vals js: is code htmx may not eval"
    assert not re.search(r"\son(?:click|load|submit|change|input)=", text), "an inline event handler"


def test_htmx_is_told_not_to_eval_or_inject_styles(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/").content.decode()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', page)
    assert config and '"includeIndicatorStyles": false' in config.group(1) and '"allowEval": false' in config.group(1)


@pytest.mark.parametrize("password", ["123456789012345", "password1234", "short1!"])
def test_weak_passwords_are_refused_numeric_ones_too(password, db):
    with pytest.raises(ValidationError):
        validate_password(password)
    validate_password("plum-orbit-cascade-41")


def test_the_demo_seed_refuses_a_weak_admin_password(db, monkeypatch):
    monkeypatch.setenv("CONSOLE_ADMIN_PASSWORD", "12345678901234")
    with pytest.raises(CommandError, match="CONSOLE_ADMIN_PASSWORD is too weak: This password is entirely numeric"):
        call_command("seed_demo")
    from django.contrib.auth.models import User

    assert not User.objects.filter(username="admin").exists()


@pytest.mark.parametrize("url", ["//evil.example", "///evil.example", "/\\evil.example", "javascript:alert(1)",
                                 "data:text/html,x", "vbscript:x"])
def test_links_to_other_hosts_written_as_paths_are_not_links(url):
    hrefs = re.findall(r'href="([^"]*)"', render_markdown(f"[a]({url})"))
    # Either no link, or one that stays on this site ("/%5Cevil.example": the backslash escaped).
    assert all(h.startswith("/") and not h.startswith("//") and "\\" not in h for h in hrefs), hrefs


@pytest.mark.parametrize("url", ["https://docs.example.com/x", "/runbooks/x/", "./x", "../x", "#step-2",
                                 "mailto:ops@example.com"])
def test_ordinary_links_stay_links(url):
    assert f'href="{url}"' in render_markdown(f"[a]({url})")


def test_terminal_escape_codes_are_stripped_from_stored_output_and_output_txt(as_user, admin_user, db):
    from incidents.execution import Isolation
    from tests.incidents.test_execution import run_bash

    result = run_bash("printf '\\033[31mred\\033[0m \\033]0;owned\\007 \\033[2Jdone\\r\\n'", {"printf"},
                      isolation=Isolation.same_user())
    assert result.output == "red  done\n"

    from incidents.models import CommandRun, ExecutionTarget, Incident
    from tests.factories import make_severities

    incident = Incident.declare(title="Codes", severity=make_severities()[2], by=admin_user)
    target = ExecutionTarget.objects.create(name="t")
    run = CommandRun.objects.create(incident=incident, template="x", script="x", target=target, queue="commands",
                                    output="\x1b[31mred\x1b[0m\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\\n")
    text = as_user(admin_user).get(reverse("incidents:run_output", args=[incident.pk, run.pk])).content.decode()
    assert text == "redlink\n"
