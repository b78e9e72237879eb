"""Contacts written in sentences and bullets, not in a table:

- chat channels ('post in #incidents', '[`#ask-platform`](https://x.slack.com/...)'), handles ('ask @cs',
  '`@org/team`', '@oncall (PagerDuty)') and email addresses anywhere in the prose;
- a chat space or ticket portal linked from an instruction ('Open a thread in [Storage Escalation]
  (https://mail.google.com/chat/...)', 'raise a ticket on the [Service Portal](...)');
- a role or team a sentence tells you to reach ('contact Red Hat Support', 'loop in the on-call engineer',
  'page Customer Support', 'owned by Team Payments');
- people named after a role ('People who brief leadership - Ana, Ben, Cy');
- the target of an OpsGenie chat command ('/genie alert "x is down" for customer-support').

A contact is never made from a sentence fragment: roles are short noun phrases ending in a role word or
written as a proper name; anything longer is left alone.
"""

from __future__ import annotations

import re

from runbooks.importer.inline import code_spans, plain
from runbooks.importer.recognisers.base import Found
from runbooks.importer.recognisers.contacts import CHANNEL, EMAIL
from runbooks.importer.recognisers.prose import passages
from runbooks.importer.sections import Tree
from runbooks.importer.types import ImportedContact

HANDLE = re.compile(r"(?<![\w@./\[])@[A-Za-z0-9][\w.-]{0,40}(?:/[\w.-]{1,40})?(?![\w@])")
_NOTIFIERS = frozenset({"@here", "@channel", "@everyone", "@all", "@mention", "@hey", "@hi", "@hello"})
_DOMAIN = re.compile(r"\.(?:com|org|net|io|dev|gov|uk|co|app|cloud|ai|info|edu)$", re.IGNORECASE)
_PLACEHOLDER_MAIL = re.compile(r"^(?:name|user|username|you|your\.?name|someone|firstname|first\.last|email)@", re.I)
_CHAT_LINK = re.compile(
    r"\[([^\]\n]{2,80})\]\((https?://(?:mail\.google\.com/chat|chat\.google\.com|[\w-]+\.slack\.com"
    r"|app\.slack\.com|teams\.microsoft\.com|discord(?:app)?\.com/channels|[\w.-]*mattermost[\w.-]*)[^)\s]*)\)",
    re.IGNORECASE,
)
_PORTAL_LINK = re.compile(
    r"\b(?:raise|open|file|log|submit|create)\s+(?:a|an)\s+(?:ticket|request|case|issue)\s+(?:on|in|with|via|through)"
    r"\s+(?:the\s+)?\[([A-Z][^\]\n]{2,60})\]\(",
)
_VIA_WORDS = re.compile(
    r"\b(slack|google chat|microsoft teams|pagerduty|opsgenie|discord|mattermost|zoom|email|telephone"
    r"|phone|github)\b",
    re.IGNORECASE,
)
_ROLE_NOUN = (
    r"(?:team|teams|support|engineer|engineers|person|people|lead|leads|commander|manager|desk|on-?call|responder"
    r"|responders|contact|contacts|owner|owners|admin|admins|administrator|sre|squad|rota)"
)
_FILLER = r"(?!(?:in|the|of|to|with|and|or|for|a|an|on|at|by|from|as|that|this|who|via)\s)[\w-]+"
_REACH = re.compile(
    r"\b(?:contact|page|loop in|escalate to|escalated to|notify|ping|engage|call|reach out to|get in touch with"
    r"|inform|alert|cc)\s+(?:the\s+|a\s+|an\s+|your\s+|our\s+)?"
    r"((?:[A-Z][\w&-]*\s+){0,4}[A-Z][\w&-]*\b(?!\s+[a-z]+ed\b)|(?:" + _FILLER + r"\s+){1,3}" + _ROLE_NOUN + r")\b"
)
_CODE = re.compile(r"`[^`\n]*`")
_GENERIC = frozenset(
    "entire whole relevant right other same appropriate affected owning responsible respective".split()  # noqa: SIM905
)
_OWNED = re.compile(r"\bowned by\s+(?:the\s+)?((?:[A-Z][\w-]*\s+){0,4}[A-Z][\w-]*|[\w-]+\s+team)\b")
_NAMES_AFTER_DASH = re.compile(r"^(.{3,120}?)\s+[-–—:]\s+((?:[A-Z][a-z]{1,20},\s+)+(?:and\s+)?[A-Z][a-z]{1,20})\.?$")
_GENIE = re.compile(r"^/genie\s+alert\s+.+\s+for\s+([\w.@-]+)$", re.IGNORECASE)
_NOT_ROLES = frozenset(
    """
    it this that them us you me him her they the process incident issue alert page team support it's
    """.split()  # noqa: SIM905 - a word list reads better as words
)


_ANY = re.compile(
    r"[#@]|\]\(|/genie|\b(?:contact|page|paging|loop|escalat|notify|ping|engage|call|reach|touch|inform|alert|cc"
    r"|owned|ticket)|\s[-–—:]\s+[A-Z][a-z]+,",
    re.IGNORECASE,
)


class ProseContacts:
    def recognise(self, tree: Tree, found: Found) -> None:
        self.found = found
        # what is known already, by kind: a big document names the same channel hundreds of times
        self.known: dict[str, set[str]] = {"channel": set(), "handle": set(), "email": set(), "name": set()}
        for contact in found.contacts:
            self._remember(contact)
        for passage in passages(tree):
            raw = passage.text
            if not raw.strip() or not _ANY.search(raw):
                continue  # nothing that could name a contact: most sentences
            words = plain(raw)
            for match in CHANNEL.finditer(words):
                if any(c.isalpha() for c in match.group(0)):
                    self.add(channel=match.group(0), via=_via(_near(words, match), "Slack"))
            for span in code_spans(raw):
                genie = _GENIE.match(span.content.strip())
                if genie and not genie.group(1).startswith(("[", "<")) and "@" not in genie.group(1):
                    self.add(handle=genie.group(1), via="OpsGenie")
            bare = _without_commands(raw)
            for match in HANDLE.finditer(bare):
                handle = match.group(0).rstrip(".")
                if handle.lower() in _NOTIFIERS or _DOMAIN.search(handle):
                    continue  # '@here' notifies, '@example.com' is a domain
                via = "GitHub" if "/" in handle else _via(_near(bare, match), "Slack")
                self.add(handle=handle, via=via)
            for match in EMAIL.finditer(words):
                if not _PLACEHOLDER_MAIL.match(match.group(0)):
                    via = "PagerDuty" if "pagerduty" in match.group(0).lower() else "email"
                    self.add(email=match.group(0), via=via)
            for match in _CHAT_LINK.finditer(raw):
                label = plain(match.group(1)).strip()
                if not label.startswith(("#", "http")):
                    self.add(channel=label, via=_chat_service(match.group(2)))
            for match in _PORTAL_LINK.finditer(raw):
                after = raw[match.end() :]
                via = _via(after[:200], None)
                self.add(name=plain(match.group(1)), via=via)
            prose = plain(_CODE.sub(" ", raw)) if "`" in raw else words
            for match in _REACH.finditer(prose):
                self.role(match.group(1), _near(prose, match))
            for match in _OWNED.finditer(prose):
                self.add(name=match.group(1).strip(), role="owner")  # 'owned by Team Bedrock'
            names = _NAMES_AFTER_DASH.match(words.strip())
            if names and passage.in_list:
                role = names.group(1).strip()
                for name in re.split(r",\s+|\s+and\s+", names.group(2)):
                    self.add(name=name.strip(), role=role)

    def role(self, phrase: str, context: str) -> None:
        words = phrase.strip()
        if not words or words.lower() in _NOT_ROLES or len(words.split()) > 5:
            return
        qualifiers = [w for w in words.lower().split()[:-1] if w not in _GENERIC]
        if not words[:1].isupper() and not qualifiers and words.lower().split()[0] in _GENERIC | {words.lower()}:
            return  # 'the entire team', 'people': nobody in particular
        if words.split()[0].lower() in _NOT_ROLES and len(words.split()) == 1:
            return
        if not (re.search(_ROLE_NOUN + r"$", words, re.IGNORECASE) or words[:1].isupper()):
            return
        if words[:1].isupper() and words.split()[0] in ("If", "When", "The", "This", "Then", "For", "Once"):
            return
        if words.lower() in self.known["name"]:
            return
        contact = ImportedContact(role=words, via=_via(context, None))
        self.found.contacts.append(contact)
        self._remember(contact)

    def add(self, *, name=None, role=None, email=None, handle=None, channel=None, via=None) -> None:
        known = self.known
        if (
            (channel and channel.lower() in known["channel"] and not (email or handle))
            or (handle and handle.lower() in known["handle"])
            or (email and email.lower() in known["email"])
            or (name and not (email or handle or channel) and name.lower() in known["name"])
        ):
            return
        contact = ImportedContact(name=name, role=role, email=email, handle=handle, channel=channel, via=via)
        self.found.contacts.append(contact)
        self._remember(contact)

    def _remember(self, contact: ImportedContact) -> None:
        for kind in ("channel", "handle", "email"):
            value = getattr(contact, kind)
            if value:
                self.known[kind].add(value.lower())
        for value in (contact.name, contact.role):
            if value:
                self.known["name"].add(value.lower())


def _near(text: str, match: re.Match) -> str:
    """The words just around a match: what says how to reach it ('page @x (PagerDuty)', 'in the #y Slack
    channel'), not a tool named elsewhere in the sentence."""
    return text[max(0, match.start() - 25) : match.end() + 25]


def _without_commands(text: str) -> str:
    """The text with code spans that are chat or shell commands blanked out: '/incident lead @engineer'
    names a placeholder, not a person."""
    out = text
    for span in code_spans(text):
        content = span.content.strip()
        if content.startswith(("/", "!", "$")) or " " in content and not content.startswith("@"):
            out = out[: span.start] + " " * (span.end - span.start) + out[span.end :]
    return out


def _via(text: str, default: str | None) -> str | None:
    match = _VIA_WORDS.search(text)
    if not match:
        return default
    word = match.group(1).lower()
    return {
        "slack": "Slack",
        "google chat": "Google Chat",
        "microsoft teams": "Microsoft Teams",
        "pagerduty": "PagerDuty",
        "opsgenie": "OpsGenie",
        "github": "GitHub",
        "telephone": "telephone",
        "phone": "phone",
        "email": "email",
    }.get(word, match.group(1))


def _chat_service(url: str) -> str:
    url = url.lower()
    if "google.com" in url:
        return "Google Chat"
    if "slack.com" in url:
        return "Slack"
    if "teams.microsoft" in url:
        return "Microsoft Teams"
    if "discord" in url:
        return "Discord"
    return "Mattermost"
