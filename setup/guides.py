"""The operator guides in docs/, shown in the console at /setup/guide/<name>/ (the files stay the source).

Only the pages listed in GUIDES (and the README and SECURITY.md they link to) are served: a name is never turned
into a path. Markdown goes through runbooks/markdown.py like every other text; links between the guides
(`alertmanager.md`, `../README.md#section`) are pointed at their pages here, so a person can follow them in the
browser as on a checkout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.urls import reverse

from runbooks.markdown import render_markdown

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class Guide:
    name: str
    path: Path
    blurb: str = ""

    @property
    def title(self) -> str:
        return _title(self.path)

    @property
    def url(self) -> str:
        return reverse("setup:guide", args=[self.name])


# In the order a team needs them.
GUIDES = [
    Guide("getting-started", DOCS / "getting-started.md", "your own runbooks, severity matrix and people"),
    Guide("alertmanager", DOCS / "alertmanager.md", "alerts from Prometheus Alertmanager open incidents"),
    Guide("notifications", DOCS / "notifications.md", "chat webhooks and SMTP for pages"),
    Guide("deploying", DOCS / "deploying.md", "docker compose, and the commands worker on a bastion host"),
    Guide("backup", DOCS / "backup.md", "backing up and restoring the database"),
    Guide("upgrading", DOCS / "upgrading.md", "a new version and its migrations"),
    Guide("api", DOCS / "api.md", "the REST API, with curl"),
    Guide("alerts", DOCS / "alerts.md", "how alerts become incidents, in detail"),
    Guide("import-format", DOCS / "import-format.md", "how documents are read"),
]
_EXTRA = [Guide("README", ROOT / "README.md"), Guide("SECURITY", ROOT / "SECURITY.md"),
          Guide("architecture", DOCS / "architecture.md"), Guide("performance", DOCS / "performance.md")]
BY_NAME = {guide.name: guide for guide in [*GUIDES, *_EXTRA]}
_LINK = re.compile(r'href="(?:\./)?(\.\./)?(?:docs/)?([A-Za-z][\w-]*)\.md(#[\w-]*)?"')


@cache
def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def guide(name: str) -> Guide | None:
    found = BY_NAME.get(name)
    return found if found is not None and found.path.is_file() else None


def render(found: Guide) -> str:
    """The guide's HTML, with links to other guides pointed at their pages in the console."""
    html = render_markdown(found.path.read_text(encoding="utf-8"))

    def relink(match: re.Match) -> str:
        target = BY_NAME.get(match.group(2))
        if target is None:
            return match.group(0)
        return f'href="{target.url}{match.group(3) or ""}"'

    return _LINK.sub(relink, html)
