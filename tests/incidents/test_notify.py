"""Sending pages: chat webhooks received by local HTTP servers this test starts, email by the locmem backend,
transient failures retried with backoff, permanent ones recorded and shown on the incident page."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core import mail

from incidents import notify, paging
from incidents.models import EventKind, Incident, Page
from tests.factories import make_severities
from tests.paging_factories import make_channel, make_person, make_policy

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


class Hook:
    """A webhook server on loopback answering with the given statuses in turn (the last one repeats)."""

    def __init__(self, *answers: tuple[int, dict]):
        self.answers, self.received = list(answers), []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.received.append((self.headers.get("Host"), json.loads(body)))
                status, headers = hook.answers.pop(0) if len(hook.answers) > 1 else hook.answers[0]
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"no")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret-part"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    made = []

    def make(*answers):
        hook = Hook(*answers)
        made.append(hook)
        return hook

    yield make
    for hook in made:
        hook.close()


@pytest.fixture
def silent_server(settings):
    """Accepts connections and never answers (the kernel's backlog completes the handshake)."""
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    sock.close()


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def declare_paging(by, *targets) -> Incident:
    severities = make_severities()
    make_policy(severities[0], [(5, list(targets))])
    return Incident.declare(title="Checkout <down> & out", severity=severities[0], by=by)


def pending_ids(incident):
    return list(incident.pages.filter(state=Page.State.PENDING).values_list("pk", flat=True))


def test_an_email_page_carries_title_severity_link_and_a_signed_acknowledge_link(commander, settings):
    settings.CONSOLE_URL = "https://console.example.com"
    incident = declare_paging(commander, make_person("Ana"))
    assert paging.deliver(pending_ids(incident)) == {"sent": 1, "failed": 0, "retrying": 0}

    (message,) = mail.outbox
    assert message.to == ["ana@example.com"]
    assert message.subject == f"[SEV1] #{incident.pk} Checkout <down> & out"
    assert f"https://console.example.com/incidents/{incident.pk}/" in message.body
    assert "Acknowledge as Ana: https://console.example.com/ack/" in message.body
    assert "tier 1 of SEV1 escalation" in message.body
    page = incident.pages.get()
    assert (page.state, page.attempts) == ("sent", 1) and page.sent_at is not None
    assert incident.timeline.filter(kind=EventKind.NOTIFICATION, message="Paged Ana by email (ana@example.com), "
                                                                      "tier 1").exists()


def test_delivering_the_same_pages_twice_sends_them_once(commander):
    incident = declare_paging(commander, make_person("Ana"))
    ids = pending_ids(incident)
    paging.deliver(ids)
    assert paging.deliver(ids) == {}
    assert len(mail.outbox) == 1


def test_a_webhook_answering_500_then_200_is_retried_with_backoff_and_then_sent(commander, hooks, clock, settings):
    settings.NOTIFY_BACKOFF_SECONDS = 10
    hook = hooks((500, {}), (200, {}))
    incident = declare_paging(commander, make_channel("#ops", webhook_url=hook.url))
    ids = pending_ids(incident)

    assert paging.deliver(ids)["retrying"] == 1
    page = incident.pages.get()
    assert page.state == "pending" and page.attempts == 1 and "answered 500" in page.error
    wait = (page.next_attempt_at - START).total_seconds()
    assert 8 <= wait <= 12  # the first backoff, with jitter
    assert paging.deliver(ids) == {}  # not due yet
    clock.shift(timedelta(seconds=wait))
    assert paging.deliver(ids)["sent"] == 1
    assert [host for host, _ in hook.received] == [f"127.0.0.1:{hook.server.server_address[1]}"] * 2
    text = hook.received[-1][1]["text"]
    assert f"#{incident.pk} Checkout &lt;down&gt; &amp; out" in text and "/ack/" in text
    messages = list(incident.timeline.filter(kind=EventKind.NOTIFICATION).values_list("message", flat=True))
    assert messages[0].startswith("Page to #ops by chat (#ops) failed (127.0.0.1 answered 500")
    assert messages[1] == "Paged #ops by chat (#ops), tier 1"


def test_a_429_waits_as_long_as_retry_after_says(commander, hooks, clock):
    hook = hooks((429, {"Retry-After": "120"}), (200, {}))
    incident = declare_paging(commander, make_channel("#ops", webhook_url=hook.url))
    paging.deliver(pending_ids(incident))
    page = incident.pages.get()
    assert page.next_attempt_at - START >= timedelta(seconds=120)


def test_a_webhook_that_never_answers_times_out_and_is_given_up_after_the_last_attempt(
        commander, silent_server, clock, settings, client):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    incident = declare_paging(commander, make_channel("#ops", webhook_url=silent_server))
    ids = pending_ids(incident)
    assert paging.deliver(ids)["retrying"] == 1
    assert "did not answer within 1 s" in incident.pages.get().error
    clock.shift(timedelta(minutes=5))
    assert paging.deliver(ids)["failed"] == 1
    page = incident.pages.get()
    assert page.state == "failed" and page.error.startswith("gave up after 2 attempts: 127.0.0.1 did not answer")
    client.force_login(commander)
    html = client.get(incident.get_absolute_url()).content.decode()
    assert 'data-state="failed"' in html and "gave up after 2 attempts" in html


def test_a_4xx_is_permanent_and_not_retried(commander, hooks):
    hook = hooks((404, {}))
    incident = declare_paging(commander, make_channel("#ops", webhook_url=hook.url))
    assert paging.deliver(pending_ids(incident))["failed"] == 1
    page = incident.pages.get()
    assert page.state == "failed" and "answered 404" in page.error and "wrong, revoked" in page.error
    assert len(hook.received) == 1


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://hooks.example.com/x", "starts with https://"),
    ("http://169.254.169.254/latest/meta-data", "cloud metadata address"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://metadata.google.internal/x", "cloud metadata service"),
    ("http://127.0.0.1:9/hook", "loopback webhooks are off"),
    ("http://localhost/hook", "loopback webhooks are off"),
    ("https://user:pw@hooks.example.com/x", "no user name or password"),
    ("https://hooks.example.com/a b", "spaces"),
    ("http://[::ffff:169.254.169.254]/x", "metadata"),
    ("http://0.0.0.0/x", "not an address"),
])
def test_a_webhook_url_we_may_not_post_to_is_refused_with_the_reason(url, reason, commander):
    incident = declare_paging(commander, make_channel("#ops", webhook_url=url))
    paging.deliver(pending_ids(incident))
    page = incident.pages.get()
    assert page.state == "failed" and reason in page.error and page.error.startswith("refused to post")


def test_a_name_that_does_not_resolve_is_transient():
    with pytest.raises(notify.TransientError, match="cannot be resolved"):
        notify.post_chat("https://no-such-host.invalid/hook", {"text": "x"})


class RefusingBackend:
    """An email backend whose server refuses: 4xx (try again) or 5xx (permanent)."""

    code = 451

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        import smtplib

        raise smtplib.SMTPResponseException(RefusingBackend.code, b"try later")


@pytest.mark.parametrize(("code", "state"), [(451, "pending"), (554, "failed")])
def test_smtp_4xx_is_retried_and_5xx_is_not(code, state, commander, settings):
    settings.EMAIL_BACKEND = "tests.incidents.test_notify.RefusingBackend"
    RefusingBackend.code = code
    incident = declare_paging(commander, make_person("Ana"))
    paging.deliver(pending_ids(incident))
    page = incident.pages.get()
    assert page.state == state and f"the mail server answered {code} try later" in page.error


def test_the_retry_policy_doubles_up_to_its_cap_and_honours_retry_after():
    policy = notify.RetryPolicy(max_attempts=5, base_seconds=5, cap_seconds=60)
    assert 4 <= policy.delay(1) <= 6 and 16 <= policy.delay(3) <= 24 and policy.delay(10) <= 72
    assert policy.delay(1, retry_after=300) == 300 and policy.delay(1, retry_after=10**9) == 3600
    assert policy.gives_up_after(5) and not policy.gives_up_after(4)


def test_a_lost_delivery_task_is_sent_again_by_the_sweep(commander, clock, monkeypatch):
    incident = declare_paging(commander, make_person("Ana"))
    sent = []
    monkeypatch.setattr(paging, "enqueue", lambda ids, countdown=None: sent.extend(ids))
    assert paging.sweep() == 0
    clock.shift(timedelta(seconds=paging.OUTBOX_GRACE_SECONDS + 1))
    assert paging.sweep() == 1 and sent == pending_ids(incident)


def test_a_page_a_dead_worker_was_sending_is_freed_and_sent_again(commander, clock, monkeypatch):
    incident = declare_paging(commander, make_person("Ana"))
    incident.pages.update(state=Page.State.SENDING, claimed_at=START)
    monkeypatch.setattr(paging, "enqueue", lambda ids, countdown=None: None)
    clock.shift(timedelta(seconds=paging.SENDING_TIMEOUT_SECONDS + 1))
    assert paging.sweep() == 1
    assert incident.pages.get().state == "pending"


class FlakyBackend(RefusingBackend):
    """Refuses with 421 (try again) the first time, then accepts."""

    calls = 0

    def send_messages(self, messages):
        FlakyBackend.calls += 1
        if FlakyBackend.calls == 1:
            import smtplib

            raise smtplib.SMTPResponseException(421, b"busy")
        mail.outbox.extend(messages)
        return len(messages)


def test_the_notification_task_retries_a_transient_failure_and_sends_once(settings):
    from incidents.tasks import send_email

    settings.EMAIL_BACKEND = "tests.incidents.test_notify.FlakyBackend"
    FlakyBackend.calls = 0
    send_email.apply(args=(["ops@example.com"], "Postmortem due", "Write it up."))
    assert FlakyBackend.calls == 2 and [m.subject for m in mail.outbox] == ["Postmortem due"]


def test_the_notification_task_fails_a_permanent_failure_at_once(settings):
    from incidents.tasks import send_email

    settings.EMAIL_BACKEND = "tests.incidents.test_notify.RefusingBackend"
    RefusingBackend.code = 550
    result = send_email.apply(args=(["ops@example.com"], "Postmortem due", "Write it up."))
    assert result.failed() and "550" in str(result.result)
