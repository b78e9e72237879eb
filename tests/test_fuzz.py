"""No input gives a 500: every URL pattern of the console, and every form field its pages show, fuzzed.

The patterns come from the URL resolver, so a page another app adds is fuzzed as soon as it is routed. Each
pattern is tried with ids of real objects and with made-up ones (past 64 bits too), with query strings and
POSTed fields holding NUL bytes, invisible and bidirectional characters, huge numbers and long text; the field
names come from the page itself (every `name="…"` its GET shows) and from the names the console's views read.
The test client raises a view's exception, so a crash fails the test, and a 5xx answer does too.

`make test` runs this on PostgreSQL; `test_the_fuzz_holds_on_sqlite_too` runs it again on SQLite.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import Resolver404, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern, RoutePattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import https_client

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
ADMIN_EXAMPLES = max(1, EXAMPLES // 3)  # the admin's pages share one code path per kind of page
# POSTs that would end the fuzzing session or delete what the other examples need.
NO_POST = re.compile(r"^accounts/logout/|/delete/$")
COMMON_FIELDS = [
    "q", "page", "status", "severity", "kind", "before", "after", "rev", "fp", "a", "b", "service", "alert",
    "runbook", "runbooks", "next", "action", "decision", "reason", "revision", "to", "note", "text", "title",
    "symptoms", "role", "user", "target", "understood", "previewed", "param_name", "suggest", "username",
    "password", "o", "p", "_changelist_filters", "_save", "_continue", "index", "post", "files",
]


def _walk(patterns, prefix=()):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, (*prefix, pattern.pattern))
        else:
            yield (*prefix, pattern.pattern), pattern


def _patterns() -> list[tuple[str, tuple]]:
    found = []
    for pieces, _pattern in _walk(get_resolver().url_patterns):
        label = "".join(str(p) for p in pieces)
        found.append((label, pieces))
    return found


PATTERNS = _patterns()

_NUL = st.tuples(st.text(max_size=12), st.text(max_size=12)).map(lambda pair: f"{pair[0]}\x00{pair[1]}")
NASTY = st.one_of(
    _NUL,
    st.text(max_size=40),
    st.sampled_from([
        "\x00", "a\x00b", "\u200b\u200b", "\u202etxt.exe", "\u2066x\u2069", "9" * 40, "-1", "0",
        str(2 ** 63), str(2 ** 64), "1e309", "NaN", "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd",
        "%00", "\ud7ff\ue000", "\U0001f525" * 50, "x" * 20_000, "open", "closed", "SEV1", "tick", "skip",
        "reopen", "dispatch", "preview", "reject", "approve", "on", "true", "[]", "{}", "null",
    ]),
)

SHORT = st.one_of(st.text(max_size=12), st.sampled_from(["\x00", "a\x00", "\u202e", "\u200b", "9" * 25]))


@st.composite
def _path(draw, pieces: tuple, pools: dict) -> str:
    out = []
    for piece in pieces:
        if isinstance(piece, RoutePattern):
            route = str(piece)

            def value(match):
                kind = match.group(1)
                if kind == "int":
                    return str(draw(st.one_of(st.sampled_from(pools["int"]), st.integers(0, 10 ** 30))))
                if kind == "slug":
                    return draw(st.one_of(st.sampled_from(pools["slug"]), st.from_regex(r"[-a-zA-Z0-9_]{1,30}",
                                                                                          fullmatch=True)))
                return draw(st.one_of(st.sampled_from(pools["path"]), st.from_regex(r"[^/\x00]{1,20}",
                                                                                      fullmatch=True)))

            out.append(re.sub(r"<(?:(\w+):)?\w+>", value, route))
        elif isinstance(piece, RegexPattern):
            regex = piece.regex.pattern.lstrip("^").rstrip("$") or ""
            out.append(draw(st.from_regex(rf"\A{regex}\Z" if regex else r"\A\Z").filter(lambda s: "\n" not in s)))
    return "/" + "".join(out)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """A little of everything, so ids in URLs point at real rows: an incident with a checklist and runs.

    Made once for the module inside a transaction rolled back at its end; each test runs in a savepoint
    within it (as Django's setUpTestData does), so what a fuzzed POST changes is undone after each test.
    """
    from django.db import transaction

    from incidents.models import CommandRun, ExecutionTarget, Incident
    from tests.conftest import make_user
    from tests.factories import make_runbook, make_severities

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            user = make_user("fuzzer", "Admin", is_staff=True, is_superuser=True)
            severities = make_severities()
            target = ExecutionTarget.objects.create(name="fuzz-local", allowed_programs=["echo"], is_default=True)
            runbook = make_runbook("Fuzzed runbook", steps=[("investigation", "Look", ["echo <name>"]),
                                                             ("mitigation", "Fix", ["rm -rf /tmp/fuzz-<dir>"])])
            incident = Incident.declare(title="Fuzzed", severity=severities[0], by=user, runbooks=[runbook])
            item = incident.checklist.order_by("order").first()
            run = CommandRun.request(item=item, index=0, values={"name": "x"}, by=user, target=target)
            ids = {incident.pk, item.pk, run.pk, runbook.versions.get().number, target.pk, 1, 0}
            client = https_client()
            client.force_login(user)
            # The forms people fill in, read from the pages that show them: a POST fills them in, well and badly.
            forms = _page_forms(client, [
                "/", incident.get_absolute_url(), reverse("incidents:declare"), reverse("incidents:list"),
                reverse("incidents:run_new", args=[incident.pk, item.pk, 0]), reverse("runbooks:list"),
                reverse("runbooks:match"), reverse("runbooks:versions", args=[runbook.slug]),
                reverse("admin:incidents_executiontarget_add"), reverse("admin:runbooks_runbook_add")])
            assert len(forms) > 5, "the pages that hold the forms did not answer with them"
            named = {"pk": incident.pk, "item_pk": item.pk, "run_pk": run.pk, "index": 0, "a": 1, "b": 1,
                     "slug": runbook.slug, "object_id": incident.pk}
            yield {"user": user, "named": named, "int": sorted(ids), "slug": [runbook.slug, "no-such-runbook"],
                   "path": [str(i) for i in sorted(ids)] + ["x", "9" * 25], "forms": forms}
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _real_path(pieces: tuple, pools: dict) -> str | None:
    """The pattern with the first real id (or slug) in every place, or None for a regex pattern."""
    out = []
    for piece in pieces:
        if not isinstance(piece, RoutePattern):
            return None
        out.append(re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(pools["named"].get(m.group(1), pools["int"][-1])),
                          str(piece)))
    return "/" + "".join(out)


def _fields(html: str) -> list[str]:
    return sorted(set(re.findall(r'name="([^"]{1,60})"', html)))


class _Forms(HTMLParser):
    """Every form on a page: where it goes, how, and each field's name with the values the page offers for it."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[dict] = []
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            target = attrs.get("hx-post") or attrs.get("action") or self.page
            self.forms.append({"_to": _url_name(target), "_method": (attrs.get("method") or "get").lower()})
        elif not self.forms:
            return
        elif tag in ("input", "button", "textarea") and attrs.get("name"):
            self.forms[-1].setdefault(attrs["name"], []).append(attrs.get("value") or "")
        elif tag == "select" and attrs.get("name"):
            self.select = attrs["name"]
            self.forms[-1].setdefault(self.select, [])
        elif tag == "option" and self.select:
            self.forms[-1][self.select].append(attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None


def _url_name(path: str) -> str | None:
    try:
        return resolve(path.split("?", 1)[0]).view_name
    except Resolver404:
        return None


def _page_forms(client, paths) -> list[dict]:
    found = []
    for path in paths:
        parser = _Forms(path)
        parser.feed(client.get(path).content.decode(errors="replace"))
        found += parser.forms
    return found


def _forms_for(world, path: str, method: str) -> list[dict[str, list[str]]]:
    """The console's forms that send to this page by this method, fields only."""
    name = _url_name(path)
    return [{k: v for k, v in form.items() if not k.startswith("_")} for form in world["forms"]
            if form["_to"] == name and form["_method"] == method and name is not None]


def _fill(data, form: dict[str, list[str]], into: dict) -> dict:
    """Each field left out, given a value the page offers, or given a bad one."""
    for field, offered in form.items():
        choice = data.draw(st.sampled_from(["offered", "bad", "left out"]), label=f"{field}?")
        if choice == "offered":
            into[field] = data.draw(st.sampled_from(offered or [""]), label=field)
        elif choice == "bad":
            into[field] = data.draw(NASTY, label=field)
    return into


SWEEP = ["a\x00b", "9" * 25, str(2 ** 63), "\u202eevil", "\u200b", "x" * 20_000, "-1", ""]


def _sweep(client, admin_user, world, path: str) -> None:
    """Before the random part: each form that sends here, its choices as offered and every other field bad."""
    for method in ("get", "post"):
        for form in _forms_for(world, path, method):
            for bad in SWEEP:
                filled = {name: (offered[0] if offered and offered[0] and name != "csrfmiddlewaretoken" else bad)
                          for name, offered in form.items()}
                for name, offered in form.items():  # every offered choice of a field once (tick, skip, …)
                    for choice in offered[1:] if offered else []:
                        client.force_login(admin_user)
                        answer = getattr(client, method)(path, {**filled, name: choice})
                        assert answer.status_code < 500, (path, method, name, choice, bad, answer.status_code)
                client.force_login(admin_user)
                answer = getattr(client, method)(path, filled)
                assert answer.status_code < 500, (path, method, filled, answer.status_code)


@pytest.mark.parametrize(("label", "pieces"), PATTERNS, ids=[label for label, _ in PATTERNS])
def test_no_input_gives_a_500(label, pieces, world, db, client):
    admin_user = world["user"]
    client.force_login(admin_user)
    real = _real_path(pieces, world)
    if real and not NO_POST.search(label):
        _sweep(client, admin_user, world, real)

    @settings(max_examples=ADMIN_EXAMPLES if label.startswith("admin/") else EXAMPLES, deadline=None, database=None,
              derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                     HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(data=st.data())
    def fuzz(data):
        path = data.draw(_path(pieces, world), label="path")
        keys = st.sampled_from(COMMON_FIELDS) | SHORT
        query = data.draw(st.dictionaries(keys, NASTY, max_size=3), label="query")
        searches = _forms_for(world, path, "get")
        if searches:
            query = _fill(data, data.draw(st.sampled_from(searches), label="search form"), query)
        client.force_login(admin_user)
        page = client.get(path, query)
        assert page.status_code < 500, (path, query, page.status_code)
        if NO_POST.search(label.lstrip("/")):
            return
        fields = _fields(page.content.decode(errors="replace")) if page.status_code == 200 else []
        names = st.sampled_from(fields + COMMON_FIELDS) if fields else st.sampled_from(COMMON_FIELDS)
        form = data.draw(st.dictionaries(names | SHORT, NASTY | st.lists(NASTY, max_size=3), max_size=4),
                         label="extra fields")
        # The console's own forms that post here (else any of them), filled in well and badly.
        posting = _forms_for(world, path, "post") or [
            {k: v for k, v in f.items() if not k.startswith("_")} for f in world["forms"]]
        form = _fill(data, data.draw(st.sampled_from(posting), label="form"), form)
        answer = client.post(path, form)
        assert answer.status_code < 500, (path, form, answer.status_code)

    fuzz()


@pytest.mark.integration
def test_the_fuzz_holds_on_sqlite_too(tmp_path, postgres):
    """make test runs the fuzz above on PostgreSQL (the postgres fixture says so); here it runs again on SQLite."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTEST_CURRENT_TEST")}
    env.update(CONSOLE_VAR_DIR=str(tmp_path), CI="")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           f"{Path(__file__)}::test_no_input_gives_a_500"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-5000:]
