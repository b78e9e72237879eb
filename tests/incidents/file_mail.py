"""An email backend for processes started by tests: every message appended to $TEST_MAIL_DIR/<pid>.log."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    def send_messages(self, messages):
        path = Path(os.environ["TEST_MAIL_DIR"]) / f"{os.getpid()}.log"
        with path.open("ab") as out:
            for message in messages:
                out.write(message.message().as_bytes() + b"\n" + b"-" * 40 + b"\n")
        return len(messages)
