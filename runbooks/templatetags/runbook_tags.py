"""Commands with their parameters highlighted, built from escaped pieces (never |safe on raw text)."""

from __future__ import annotations

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from runbooks.commandtext import placeholders

register = template.Library()


def highlight_parameters(text: str) -> SafeString:
    """The command text, escaped, with each placeholder (<pod>, ${NS}, {{ name }}) in <span class="param">."""
    text = text or ""
    pieces: list[str] = []
    last = 0
    for p in placeholders(text):
        pieces.append(escape(text[last:p.start]))
        pieces.append(format_html('<span class="param" title="parameter {}">{}</span>', p.name, text[p.start:p.end]))
        last = p.end
    pieces.append(escape(text[last:]))
    return mark_safe("".join(pieces))  # noqa: S308 - every piece above is escaped or built by format_html


@register.simple_tag
def command_html(command) -> SafeString:
    return highlight_parameters(command.text)


@register.filter
def step_html(text) -> SafeString:
    """A step's text as prose: inline code as <code>, cautions as cautions, all else escaped."""
    from runbooks.steptext import step_html as render

    return render(text)
