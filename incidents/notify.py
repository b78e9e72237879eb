"""Sending: email through Django's email backend, chat through Slack-compatible incoming webhooks, and THE retry
policy of the console.

Each sender raises `TransientError` for what may work if tried again (a timeout, a refused connection, a 5xx, a
429 with its Retry-After) and `PermanentError` for what will not (a 4xx, a refused address, a URL we may not post
to); the message says what happened, for the incident page. `RETRY` says how long to wait before attempt n; the
page outbox (incidents/paging.py) keeps its attempts in the database, and `NotificationTask` gives any other
Celery task (postmortem reminders, say) the same policy:

    @shared_task(base=NotificationTask, bind=True, name="...")
    def remind(self, user_id): ... notify.send_email([address], subject, body) ...

The chat client is httpx: per-phase timeouts in one object, no redirects followed, no proxy from the environment,
and it can connect to the address `runbooks.webhooks` checked while TLS still verifies the real host name (the
`sni_hostname` extension), so a name re-pointed at a metadata address between the check and the connection
cannot be used.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import random
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from celery import Task
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from runbooks.secrets import UNREADABLE
from runbooks.webhooks import ResolveFailed, UnsafeWebhook, resolve_webhook

log = logging.getLogger(__name__)
MAX_RETRY_AFTER = 3600.0


class NotifyError(Exception):
    """A message that did not go out; str() is the reason, for people."""


class TransientError(NotifyError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(NotifyError):
    pass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped; a server's Retry-After wins when it asks for longer."""

    max_attempts: int
    base_seconds: float
    cap_seconds: float

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 = the first try)."""
        backoff = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        backoff *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography
        if retry_after is not None:
            backoff = max(backoff, min(retry_after, MAX_RETRY_AFTER))
        return round(backoff, 2)

    def gives_up_after(self, attempt: int) -> bool:
        return attempt >= self.max_attempts


def retry_policy() -> RetryPolicy:
    return RetryPolicy(settings.NOTIFY_MAX_ATTEMPTS, settings.NOTIFY_BACKOFF_SECONDS,
                       settings.NOTIFY_BACKOFF_CAP_SECONDS)


class NotificationTask(Task):
    """A Celery task that retries TransientError by `retry_policy()` and lets PermanentError fail at once.

    The task body must be idempotent (a retry runs it again): send one message, keyed by what it is for.
    """

    abstract = True
    acks_late = True
    ignore_result = True

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except TransientError as exc:
            policy = retry_policy()
            attempt = self.request.retries + 1
            if policy.gives_up_after(attempt):
                log.warning("%s gave up after %d attempts: %s", self.name, attempt, exc)
                raise PermanentError(f"gave up after {attempt} attempts: {exc}") from exc
            raise self.retry(exc=exc, countdown=policy.delay(attempt, exc.retry_after),
                             max_retries=policy.max_attempts) from exc


# --- email ----------------------------------------------------------------------------------------------

def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(str(text).split())[:limit]


def send_email(to: list[str], subject: str, body: str, *, connection=None, reply_to: list[str] | None = None) -> None:
    """Send one plain-text email through the configured backend (SMTP from the environment in production)."""
    to = [address for address in to if address]
    if not to:
        raise PermanentError("no email address to send to")
    message = EmailMessage(_one_line(subject, 250), body, settings.DEFAULT_FROM_EMAIL, to,
                           connection=connection, reply_to=reply_to)
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(f"{a} ({c[0]} {c[1].decode(errors='replace') if isinstance(c[1], bytes) else c[1]})"
                            for a, c in exc.recipients.items())
        raise PermanentError(f"the mail server refused {_one_line(refused)}") from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        reason = f"the mail server answered {exc.smtp_code} {_one_line(text)}"
        if 400 <= exc.smtp_code < 500:
            raise TransientError(reason) from None
        raise PermanentError(reason) from None
    except smtplib.SMTPServerDisconnected as exc:
        raise TransientError(f"the mail server hung up ({_one_line(exc) or 'disconnected'})") from None
    except smtplib.SMTPException as exc:  # before OSError: SMTPException is one
        raise PermanentError(f"the mail server refused the message ({_one_line(exc)})") from None
    except (TimeoutError, OSError) as exc:
        raise TransientError(f"the mail server could not be reached ({_one_line(exc) or type(exc).__name__})") \
            from None


def email_connection():
    """One backend connection to send several messages over (the caller closes it)."""
    return get_connection(fail_silently=False)


# --- chat -------------------------------------------------------------------------------------------------

def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The certificate store, loaded once per process: loading it cost each delivery task ~40 ms, a fifth of
    sending fifty pages. Never changed once made; the same store httpx loads by default (trust_env off)."""
    return httpx.create_ssl_context(trust_env=False)


def chat_client() -> httpx.Client:
    """An HTTP client for webhooks (a `with` block closes it); several posts can share one."""
    timeout = httpx.Timeout(settings.WEBHOOK_TIMEOUT_SECONDS, connect=min(3.0, settings.WEBHOOK_TIMEOUT_SECONDS))
    return httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls_context(),
                        limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
                        headers={"User-Agent": "incident-console"})


def post_chat(webhook_url: str, payload: dict, *, client: httpx.Client | None = None) -> None:
    """POST a Slack-compatible message (`{"text": ...}`) to an incoming webhook."""
    if not webhook_url:
        raise PermanentError("the channel has no webhook URL")
    if webhook_url == UNREADABLE:
        raise PermanentError("the webhook URL cannot be read with the current SECRET_KEY: set it again in the admin")
    try:
        host, address = resolve_webhook(webhook_url)
    except UnsafeWebhook as exc:
        raise PermanentError(f"refused to post: {exc}") from None
    except ResolveFailed as exc:
        raise TransientError(str(exc)) from None
    url = httpx.URL(webhook_url)
    pinned = url.copy_with(host=address)
    headers = {"Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    own = client is None
    client = client or chat_client()
    began = time.monotonic()
    try:
        response = client.post(pinned, json=payload, headers=headers, extensions=extensions)
    except httpx.TimeoutException:
        raise TransientError(f"{host} did not answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s") from None
    except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
        raise TransientError(f"{host} could not be reached ({_one_line(exc) or type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise PermanentError(f"posting to {host} failed ({_one_line(exc) or type(exc).__name__})") from None
    finally:
        if own:
            client.close()
    status = response.status_code
    if 200 <= status < 300:
        log.debug("posted to %s in %.0f ms", host, (time.monotonic() - began) * 1000)
        return
    said = _one_line(response.text, 120)
    reason = f"{host} answered {status}" + (f" “{said}”" if said else "")
    if status == 429 or status == 408 or status >= 500:
        raise TransientError(reason, retry_after=_retry_after(response.headers.get("Retry-After")))
    if 300 <= status < 400:
        raise PermanentError(f"{reason}: a redirect (the console does not follow them; check the webhook URL)")
    raise PermanentError(f"{reason}: the webhook URL is wrong, revoked or refuses this message")


def slack_escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as markup: escape them in text people wrote."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
