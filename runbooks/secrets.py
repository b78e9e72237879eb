"""Values that must not sit in the database in clear (a chat webhook URL is a bearer credential).

`EncryptedTextField` keeps Fernet tokens (AES-128-CBC with an HMAC: authenticated, so a tampered value is refused,
not decrypted to garbage) under a key derived from SECRET_KEY; SECRET_KEY_FALLBACKS still decrypt, so rotating
the secret key keeps every stored value readable until it is saved again. A value no key opens reads as
`UNREADABLE`, which callers show as "set it again" instead of failing the page.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

UNREADABLE = "\x00unreadable"
_PURPOSE = b"incident-console.runbooks.secrets.v1:"


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(_PURPOSE + str(key).encode()).digest())) for key in keys
    ])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return UNREADABLE


class EncryptedTextField(models.TextField):
    """Text stored encrypted; reads give the clear value (or UNREADABLE). Not searchable or comparable in SQL."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else ""

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value == UNREADABLE:
            raise ValueError(f"{self.verbose_name} cannot be read with the current SECRET_KEY: set it again")
        return value
