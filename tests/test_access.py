"""Walk every URL as an anonymous visitor and as each role.

Every named URL must appear in ACCESS with the least role that may GET it (None: anyone, e.g.
/healthz and token-authenticated webhooks; "post" for POST-only URLs, which answer GET with 405
to anyone who could POST). A new URL without an entry fails here, so nobody forgets to decide.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import make_runbook, make_severities

ROLE_ORDER = ["viewer", "responder", "commander", "admin"]

# url name -> (least role allowed, how to call it)
ACCESS: dict[str, tuple[str | None, str]] = {
    "healthz": (None, "get"),
    "login": (None, "get"),
    "logout": ("viewer", "post-only"),
    "dashboard": ("viewer", "get"),
    "wall": ("viewer", "get"),
    "incidents:list": ("viewer", "get"),
    "incidents:declare": ("responder", "get"),
    "incidents:postmortems": ("viewer", "get"),
    "incidents:detail": ("viewer", "get"),
    "incidents:dashboard_poll": ("viewer", "get"),
    "incidents:declare_suggest": ("responder", "get"),
    "incidents:poll": ("viewer", "get"),
    "incidents:acknowledge": ("responder", "post-only"),
    "incidents:transition": ("commander", "post-only"),
    "incidents:follow_runbook": ("commander", "post-only"),
    "incidents:severity": ("commander", "post-only"),
    "incidents:role": ("commander", "post-only"),
    "incidents:attach": ("commander", "post-only"),
    "incidents:attach_search": ("commander", "get"),
    "incidents:note": ("responder", "post-only"),
    "incidents:item": ("responder", "post-only"),
    "incidents:run_new": ("responder", "get"),
    "incidents:runs": ("viewer", "get"),
    "incidents:run_detail": ("viewer", "get"),
    "incidents:run_output": ("viewer", "get"),
    "incidents:run_approve": ("commander", "post-only"),
    "incidents:run_cancel": ("responder", "post-only"),
    "runbooks:list": ("viewer", "get"),
    "runbooks:severity": ("viewer", "get"),
    "runbooks:detail": ("viewer", "get"),
    "runbooks:match": ("viewer", "get"),
    "runbooks:versions": ("viewer", "get"),
    "runbooks:diff": ("viewer", "get"),
    # The REST API and webhooks authenticate with tokens, never a session: "token" answers 401 (or 405 to a GET
    # of a POST-only endpoint) to everyone here; tests/api/ walks them with tokens of each role.
    "api:incidents": (None, "token"),
    "api:incidents_create": (None, "token"),
    "api:incident": (None, "token"),
    "api:incident_postmortem": (None, "token"),
    "api:incident_acknowledge": (None, "token"),
    "api:incident_status": (None, "token"),
    "api:incident_notes": (None, "token"),
    "api:incident_checklist": (None, "token"),
    "api:checklist_tick": (None, "token"),
    "api:checklist_skip": (None, "token"),
    "api:runbooks": (None, "token"),
    "api:runbooks_match": (None, "token"),
    "api:alerts_alertmanager": (None, "token"),
    "api:alerts_generic": (None, "token"),
    "api:schema": ("viewer", "token-or-login"),
    "api:docs": ("viewer", "get"),
    "oncall:severity": ("viewer", "get"),
    "oncall:severity_suggest": ("viewer", "get"),
    "oncall:escalation": ("viewer", "get"),
    "incidents:page_contact": ("responder", "post-only"),
    "incidents:escalation_jump": ("commander", "post-only"),
    "page_ack": (None, "signed-link"),  # anyone with the link; the walk's made-up token is refused with 400
    "incidents:postmortem": ("viewer", "get"),
    "incidents:postmortem_generate": ("responder", "post-only"),
    "incidents:postmortem_section": ("responder", "post-only"),
    "incidents:postmortem_entries": ("responder", "post-only"),
    "incidents:postmortem_state": ("responder", "post-only"),
    "incidents:postmortem_waive": ("commander", "post-only"),
    "incidents:postmortem_history": ("viewer", "get"),
    "incidents:postmortem_print": ("viewer", "get"),
    "incidents:postmortem_md": ("viewer", "get"),
    "incidents:milestone": ("commander", "post-only"),
    "incidents:action_new": ("responder", "post-only"),
    "incidents:action_item": ("viewer", "post-only"),  # an item's owner may close it, whatever their role
    "followup:actions": ("viewer", "get"),
    "followup:actions_summary": ("viewer", "get"),
    "followup:metrics": ("viewer", "get"),
    "followup:metrics_csv": ("viewer", "get"),
    "followup:metrics_incidents_csv": ("viewer", "get"),
    "followup:runbook_record": ("viewer", "get"),
    "setup:page": ("admin", "get"),
    "setup:test_message": ("admin", "post-only"),
    "setup:guide": ("viewer", "get"),
    "setup:import": ("admin", "get"),
    "setup:import_preview": ("admin", "get"),  # the admin's own upload (another's is a 404: see tests/setup/)
    "setup:import_progress": ("admin", "get"),
}


def _named_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _named_patterns(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{prefix}{entry.name}", entry


@pytest.fixture
def url_args(db, commander, admin_user):
    """Real objects for every URL argument name used in the project."""
    from incidents.models import Incident

    severities = make_severities()
    runbook = make_runbook()
    incident = Incident.declare(title="Walk", severity=severities[0], by=commander, runbooks=[runbook])
    item = incident.checklist.first()
    args = {"pk": incident.pk, "slug": runbook.slug, "item_pk": item.pk, "number": 1, "version": 1,
            "a": 1, "b": 1, "run_pk": 1, "token": "x", "index": 0, "incident_id": incident.pk, "item_id": item.pk,
            "key": "root_cause", "link_pk": incident.runbooks.first().pk, "name": "getting-started"}
    from runbooks.models import ImportJob

    args["job_id"] = ImportJob.objects.create(created_by=admin_user).pk
    try:
        from incidents.models import CommandRun, ExecutionTarget

        target = ExecutionTarget.objects.create(name="walk", allowed_programs=["echo"])
        run = CommandRun.objects.create(incident=incident, template="echo hi", script="echo hi", target=target,
                                        queue="commands", requested_by=commander)
        args["run_pk"] = run.pk
    except Exception:  # noqa: BLE001, S110 - the commands models may not exist in every checkout
        pass
    return args


def _url(name, pattern, args):
    kwargs = {k: args[k] for k in pattern.pattern.regex.groupindex}
    return reverse(name, kwargs=kwargs)


def test_every_url_is_in_the_access_table():
    missing = sorted(name for name, _ in _named_patterns() if name not in ACCESS)
    assert not missing, f"add these URLs to tests/test_access.py ACCESS: {missing}"


@pytest.mark.parametrize("role", [None, *ROLE_ORDER])
def test_each_role_reaches_exactly_what_it_may(client, users, url_args, role):
    if role:
        client.force_login(users[role])
    wrong = []
    for name, pattern in _named_patterns():
        least, how = ACCESS[name]
        url = _url(name, pattern, url_args)
        response = client.get(url)
        allowed = least is None or (role is not None and ROLE_ORDER.index(role) >= ROLE_ORDER.index(least))
        if how == "token":
            expected = {401, 405}
        elif how == "token-or-login" and role is None:
            expected = {401}
        elif least is not None and role is None:
            expected = {302}
            if response.status_code == 302 and "/accounts/login/" not in response["Location"]:
                wrong.append(f"{url}: anonymous redirected to {response['Location']}, not to login")
        elif not allowed:
            expected = {403}
        elif how == "post-only":
            expected = {405}
        elif how == "signed-link":
            expected = {400}
        else:
            expected = {200, 204, 302}
        if response.status_code not in expected:
            wrong.append(f"{name} {url} as {role or 'anonymous'}: {response.status_code}, expected {expected}")
    assert not wrong, "\n".join(wrong)


def test_staff_pages_need_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login/" in response["Location"]
