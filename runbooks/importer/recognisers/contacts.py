"""Contacts, as a list ('- **Primary On-Call**: Dana (dana@example.com) - +1-555-0100') or as a table
(Name | Role | Email | Phone | Chat). Identifiers are found by their form, so column order does not matter."""

from __future__ import annotations

import re

from runbooks.importer.inline import code_spans, plain, split_label, strip_symbols
from runbooks.importer.recognisers.base import Found
from runbooks.importer.recognisers.columns import cell, column_roles
from runbooks.importer.sections import Block, ListBlock, Section, Table
from runbooks.importer.types import ImportedContact
from runbooks.importer.wording import is_instruction

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
PHONE = re.compile(
    r"(?<![\w+])\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,5}\)?){1,5}(?:[ .-][A-Z]{3,10})?(?![\w@])"
    r"|(?<![\w+])\+\d{1,3}(?:[ .-]\d{2,5}){0,3}[ .-][A-Z]{3,10}\b"
)
HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9][\w.-]{0,40}\b")
CHANNEL = re.compile(r"(?<![\w&#/])#[a-z0-9][\w.-]{0,60}[a-z0-9_]", re.IGNORECASE)
VIA = re.compile(
    r"\b(slack|pagerduty|opsgenie|microsoft teams|teams|zoom|google meet|discord|mattermost|phone|sms|e-?mail"
    r"|telegram|whatsapp|signal|victorops|splunk on-call|xmatters|webex|irc)\b",
    re.IGNORECASE,
)
_CONTACT_HEADING = re.compile(
    r"contact|on[- ]?call|people|who to (?:call|page|ask)|owners?|channels?|team directory|phone|roster",
    re.IGNORECASE,
)
_MAYBE_ID = re.compile(r"[@#]|\d{3}")
_LEFTOVER = re.compile(r"\([^)]*\)|[`*_]|\s+[-–—|]\s+|[,;:]")


def identifiers(text: str) -> dict[str, str]:
    """Email, phone, handle and channel written in a piece of text, by their form."""
    words = plain(text)
    found: dict[str, str] = {}
    email = EMAIL.search(words)
    if email:
        found["email"] = email.group(0)
        words = words.replace(email.group(0), " ")
    phone = _phone(words)
    if phone:
        found["phone"] = phone
    handle = HANDLE.search(words)
    if handle:
        found["handle"] = handle.group(0)
    channel = CHANNEL.search(words)
    if channel and any(c.isalpha() for c in channel.group(0)):
        found["channel"] = channel.group(0)
    return found


def _phone(words: str) -> str | None:
    for match in PHONE.finditer(words):
        candidate = match.group(0).strip()
        digits = sum(c.isdigit() for c in candidate)
        if digits >= 7 or (candidate.startswith("+") and digits >= 4 and re.search(r"[A-Z]{3,}", candidate)):
            return candidate
    return None


def _via(text: str, section: Section) -> str | None:
    match = VIA.search(plain(text)) or VIA.search(plain(section.title))
    return match.group(1) if match else None


def _leftover(text: str, ids: dict[str, str], via: str | None) -> str:
    words = plain(text)
    for value in ids.values():
        words = words.replace(value, " ")
    if via:
        words = re.sub(rf"\b{re.escape(via)}\b", " ", words, count=1, flags=re.IGNORECASE)
    words = _LEFTOVER.sub(" ", words)
    return " ".join(words.split()).strip(" -–—")


class ContactsList:
    def claim(self, block: Block, section: Section, found: Found) -> bool:
        if not isinstance(block, ListBlock) or not block.items:
            return False
        texts = [item.text for item in block.items]
        headed = bool(_CONTACT_HEADING.search(plain(section.title)))
        maybe = sum(1 for t in texts if _MAYBE_ID.search(t))
        if not maybe or (not headed and maybe * 10 < len(texts) * 6):
            return False  # no item could hold an email, phone, handle or channel: not worth a closer look
        with_ids = sum(1 for t in texts if identifiers(t))
        labelled = sum(1 for t in texts if split_label(t) is not None)
        if any(item.checkbox for item in block.items) or any(len(t) > 300 for t in texts):
            return False
        if sum(1 for t in texts if is_instruction(t)) * 2 > len(texts):
            return False  # 'Check #alarms for issues': steps that mention a channel (read by ProseContacts)
        if not headed and sum(len(_leftover(t, identifiers(t), None).split()) for t in texts) > 10 * len(texts):
            return False  # sentences that mention a channel are prose (read by ProseContacts), not a directory
        if not (with_ids * 10 >= len(texts) * 6 or (headed and labelled == len(texts) and with_ids)):
            return False
        for item in block.items:
            contact = contact_from_text(item.text, section)
            if contact is not None:
                found.contacts.append(contact)
        return True


def contact_from_text(text: str, section: Section) -> ImportedContact | None:
    label = split_label(text)
    head, rest = (label.label, label.rest) if label else ("", text)
    # an identifier may be the label itself: '**#incident-response**: for active incidents'
    head_ids = identifiers(head) if head else {}
    ids = {**identifiers(rest), **head_ids}
    via = _via(rest, section)
    if head_ids:
        role = _leftover(rest, ids, via) or None
        name = None
    else:
        role = strip_symbols(head) or None
        leftover = _leftover(rest, ids, via)
        name = leftover if _name_like(leftover) else None
        if not ids and leftover:  # 'Management: DM the leadership channel' says how, not who
            name, via = None, plain(rest)
    if not (ids or role or name):
        return None
    for span in code_spans(rest):
        if span.content.startswith("@") and "handle" not in ids:
            ids["handle"] = span.content
    return ImportedContact(
        name=name,
        role=role,
        email=ids.get("email"),
        phone=ids.get("phone"),
        handle=ids.get("handle"),
        channel=ids.get("channel"),
        via=via,
    )


def _name_like(words: str) -> bool:
    """'Dana Reyes', 'Platform SRE': a name, not the rest of a sentence ('Users who are affected by ...')."""
    parts = words.split()
    return 0 < len(parts) <= 4 and all(p[:1].isupper() or p[:1].isdigit() or p in ("de", "van", "von") for p in parts)


class ContactsTable:
    def claim(self, block: Block, section: Section, found: Found) -> bool:
        if not isinstance(block, Table) or not block.rows:
            return False
        roles = column_roles(block.header)
        id_cols = [roles[r] for r in ("email", "phone", "handle", "channel") if r in roles]
        rows_with_ids = sum(1 for row in block.rows if any(identifiers(c) for c in row))
        if not id_cols and rows_with_ids * 10 < len(block.rows) * 6:
            return False
        name_col = roles.get("name", roles.get("notify"))
        role_col = roles.get("role")
        via_col = roles.get("via")
        for row in block.rows:
            ids: dict[str, str] = {}
            columns: list[int] = []
            for n, value in enumerate(row):
                if n in (name_col, role_col):
                    continue
                for kind, found_id in identifiers(value).items():
                    ids.setdefault(kind, found_id)
                    columns.append(n)
            name = strip_symbols(plain(cell(row, name_col))) or None
            role = strip_symbols(plain(cell(row, role_col))) or None
            via = (plain(cell(row, via_col)) or None) if via_col is not None else None
            if via is None and len(set(columns)) == 1 and columns[0] < len(block.header):
                # the only way to reach them is the column it sits in: 'Slack', 'PagerDuty'
                via_match = VIA.search(plain(block.header[columns[0]]))
                via = (
                    via_match.group(1)
                    if via_match and via_match.group(1).lower() not in ("email", "e-mail", "phone")
                    else None
                )
            if ids or name or role:
                found.contacts.append(
                    ImportedContact(
                        name=name,
                        role=role,
                        email=ids.get("email"),
                        phone=ids.get("phone"),
                        handle=ids.get("handle"),
                        channel=ids.get("channel"),
                        via=via,
                    )
                )
        return True
