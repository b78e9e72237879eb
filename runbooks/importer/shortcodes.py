"""Template helpers written in a document that stand for something a responder does.

GOV.UK's developer docs (Middleman, ERB) write `<%= RunRakeTask.links("whitehall-admin", "publishing:requeue") %>`
for links that run a Rake task on an app: the command is the Rake task. Template tags that render nothing a
responder needs (`<%= partial "x" %>`, `{{< figure >}}`) give nothing and are dropped by the tree builder.
"""

from __future__ import annotations

import re

from runbooks.importer.types import ImportedCommand

_ERB = re.compile(r"^\s*<%=?\s*(.+?)\s*-?%>\s*$", re.DOTALL)
_HELPER = re.compile(r"^([A-Z][\w:]*)\.(\w+)\s*\((.*)\)\s*$", re.DOTALL)
_STRING = re.compile(r"\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'")
_RAKE_TASK = re.compile(r"^[a-z][\w-]*(?::[a-z][\w-]*)+(?:\[[^\]]*\])?$")


def shortcode_command(text: str) -> ImportedCommand | None:
    """The command an ERB helper line stands for, or None when it is not one we know."""
    if "<%" not in text:
        return None
    erb = _ERB.match(text)
    if erb is None:
        return None
    helper = _HELPER.match(erb.group(1))
    if helper is None or "rake" not in helper.group(1).lower():
        return None
    args = [a or b for a, b in _STRING.findall(helper.group(3))]
    tasks = [a for a in args if _RAKE_TASK.match(a)]
    return ImportedCommand("rake", tasks[-1]) if tasks else None

