"""SECURITY.md says what the console defends against and trusts, and its refusal table is the code's."""

from __future__ import annotations

import re
from pathlib import Path

from incidents.execution.programs import refusal_table_markdown

DOC = (Path(__file__).resolve().parent.parent / "SECURITY.md").read_text()


def test_the_refusal_table_in_security_md_is_the_one_the_console_applies():
    found = re.search(r"<!-- refusal table:[^\n]*-->\n(.*?)\n<!-- end of refusal table -->", DOC, re.S)
    assert found, "SECURITY.md lost its refusal table markers"
    assert found.group(1).strip() == refusal_table_markdown().strip()


def test_it_covers_threats_trust_deployment_and_reporting():
    for heading in ("## What it defends against", "## What it trusts", "## Deploying the commands worker",
                    "## Reporting a problem"):
        assert heading in DOC
    for setting in ("COMMAND_RUN_USER", "COMMAND_ALLOW_SAME_USER", "COMMAND_SANDBOX", "CONSOLE_ROLE",
                    "TRUSTED_PROXIES", "LOGIN_DELAY_MAX_SECONDS"):
        assert setting in DOC
