"""Secrets handed to scripts: made once, shown once, kept only as a digest.

A token is 32 random bytes (URL-safe text) behind a short prefix that says what it opens (`icu_` for a person's
API token, `ici_` for an alert integration). Only its SHA-256 is stored: with that much entropy a salted slow hash
adds nothing, and a digest can be looked up through a unique index. The digest found is still compared again in
constant time, so no code path compares the secret byte by byte.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
HINT_LENGTH = 8  # prefix plus a few characters: enough to tell tokens apart in a list, useless to a guesser


def new_token(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(TOKEN_BYTES)}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def hint(token: str) -> str:
    return token[:HINT_LENGTH]


def same_digest(token: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(token), stored_digest)


def bearer(request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
