"""Which chat webhook URLs the console may post to.

A webhook URL is typed by an admin or imported from a document, and the console POSTs to it from inside the
network: without checks it would be a way to reach the cloud metadata service or anything on loopback. Checked
twice: when the URL is saved (its form) and when a message is sent (the addresses its name resolves to then, so a
name re-pointed after saving is caught too; incidents/notify.py connects to the very address checked here).

Refused: schemes other than http(s), user:password@ in the URL, link-local addresses (169.254/16, fe80::/10:
where metadata services live), well-known metadata names and addresses, unspecified/multicast/reserved
addresses, and loopback unless WEBHOOK_ALLOW_LOOPBACK is set (tests and local chat servers). Private ranges
(10/8, 172.16/12, 192.168/16) are allowed: a self-hosted Mattermost or Rocket.Chat usually lives there.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL_LENGTH = 2000
METADATA_NAMES = {
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
}
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254"),
}


class UnsafeWebhook(ValueError):
    """The URL is refused; the message says why, in words for the admin who typed it."""


def _loopback_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_LOOPBACK", False))


def check_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str) -> None:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if address in METADATA_ADDRESSES:
        raise UnsafeWebhook(f"{host} is a cloud metadata address; the console never posts there.")
    if address.is_link_local:
        raise UnsafeWebhook(f"{host} is a link-local address ({address}); the console never posts there.")
    if address.is_loopback:
        if _loopback_allowed():
            return
        raise UnsafeWebhook(f"{host} is this machine ({address}); loopback webhooks are off "
                            "(WEBHOOK_ALLOW_LOOPBACK turns them on).")
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        raise UnsafeWebhook(f"{host} ({address}) is not an address a chat server can have.")


def check_webhook_url(url: str) -> tuple[str, str, int]:
    """Refuse a URL that is not a plain http(s) URL to a host we may reach; returns (scheme, host, port).

    Checks what the URL itself says (literal addresses, metadata names); `resolve_webhook` checks where the name
    points at sending time.
    """
    url = (url or "").strip()
    if not url:
        raise UnsafeWebhook("The webhook URL is empty.")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeWebhook(f"The webhook URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeWebhook("The webhook URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeWebhook(f"The webhook URL cannot be read ({exc}).") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeWebhook(f"A webhook URL starts with https:// (or http://), not “{parts.scheme or url[:20]}”.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeWebhook("Put no user name or password in the webhook URL.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeWebhook("The webhook URL has no host name.")
    if host in METADATA_NAMES:
        raise UnsafeWebhook(f"{host} is a cloud metadata service; the console never posts there.")
    if (host == "localhost" or host.endswith(".localhost")) and not _loopback_allowed():
        raise UnsafeWebhook(f"{host} is this machine; loopback webhooks are off "
                            "(WEBHOOK_ALLOW_LOOPBACK turns them on).")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        check_address(address, host)
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def resolve_webhook(url: str) -> tuple[str, str]:
    """(host, address to connect to) for a URL, after checking every address its name resolves to now."""
    _, host, port = check_webhook_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveFailed(f"{host} cannot be resolved ({exc})") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        check_address(address, host)
        addresses.append(address)
    if not addresses:
        raise ResolveFailed(f"{host} resolves to no address")
    return host, str(addresses[0])


class ResolveFailed(OSError):
    """The name did not resolve: DNS may come back, so sending is retried."""


def mask_webhook(url: str) -> str:
    """What pages show of a webhook URL: its host only (the path is the credential)."""
    if not url:
        return ""
    try:
        host = urlsplit(url).hostname or "?"
    except ValueError:
        host = "?"
    return f"{host}/…"
