"""Escalation written in sentences, each rule one row:

- an acknowledgement deadline and what follows it: 'If you do not acknowledge within 10 minutes, someone
  else will get paged'; 'The duty contacts are expected to ack the escalation in under 15 minutes';
- what to do when nobody answers: 'If there is no acknowledgement by X, a call should be made to Y';
- a rule per kind of incident, in an escalation section: 'If the incident is urgent, start a thread in
  #ops'; 'If you have a **service impacting incident** ... you can escalate it by emailing x@y';
  'In the event of a 'Critical incident', please email x@y, stating: ...';
- a time box: 'work on high priority incidents for up to 1 hour. If not resolved within that timeframe
  they will: inform the affected team; put together a plan'.

Severity is the document's own words ('urgent', 'high priority incidents'); a row names who is notified
only where the sentence does. Tiers written as a list are read by EscalationList (escalation_list.py).
"""

from __future__ import annotations

import re

from runbooks.importer.inline import plain
from runbooks.importer.recognisers.base import Found
from runbooks.importer.recognisers.prose import Passage, passages
from runbooks.importer.sections import Tree
from runbooks.importer.types import ImportedEscalation
from runbooks.importer.vocabulary import minutes
from runbooks.importer.wording import TitleClass, title_class

_TIME = r"(\d+(?:\.\d+)?\s*(?:minutes?|mins?|hours?|hrs?|h|m)\b)"
_ACK = re.compile(r"\b(?:ack(?:nowledge)?s?|respond|reply|answer|pick up)\b", re.IGNORECASE)
_WITHIN = re.compile(r"\b(?:within|in under|under|in less than|inside|for up to|up to|after)\s+" + _TIME, re.I)
_PAGED = re.compile(
    r",\s*(?:then\s+)?(.{2,60}?)\s+(?:will|should|shall)\s+(?:get|be)\s+(?:paged|notified|called|alerted)\b", re.I
)
_EXPECTED = re.compile(
    r"^(?:one of |any of |each of )?(?:the |a |an |your |our )?(.{3,80}?)\s+(?:is|are)\s+(?:expected|required|supposed)"
    r"\s+to\s+(.+)$",
    re.IGNORECASE,
)
_NO_ANSWER = re.compile(
    r"^if (?:there is )?no (?:acknowledge?ment|response|answer|reply)\b.*?,\s*(.+)$", re.IGNORECASE
)
_TARGET = re.compile(
    r"\b(?:made to|escalate to|escalated to|page|paged to|call|contact|notify|inform|alert)\s+(?:the |a |an |your )?"
    r"((?:[\w-]+\s+){0,4}(?:team|teams|contact|contacts|engineer|engineers|person|people|lead|support|manager"
    r"|on-?call))\b",
    re.IGNORECASE,
)
_NOTIFY_CAPS = re.compile(
    r"\b(?:alert|inform|notify|page|contact)\s+the\s+((?:[A-Z][\w-]*\s+){0,4}(?:Team|Support|Lead|Engineers?|Desk))\b"
)
_INCIDENT_KIND = re.compile(
    r"\bif (?:the|an|your) incident is\s+((?:not\s+)?[\w-]+)"
    r"|\*\*([^*\n]{2,60}\bincidents?)\*\*"
    r"|['‘\"“]([^'’\"”\n]{2,60}\bincidents?)['’\"”]"
    r"|\brespond to\s+((?:[\w-]+\s+){1,3}incidents?)\b",
    re.IGNORECASE,
)
_TIER_TIME = re.compile(
    r"\(?\s*(?:after|within|in|at|\+|t\s*\+)?\s*" + _TIME
    + r"(?:\s+(?:later|after(?: that)?|unacknowledged|without (?:an? )?(?:ack\w*|answer|response)))?\s*\)?",
    re.IGNORECASE,
)
_TIER_WHO = re.compile(r"(?:^|:\s*)([A-Z][\w-]*(?:\s+(?:of|for|and|the|[A-Z][\w-]*)){0,4})$")
_EXAMPLES = re.compile(r"\s*(?:\bwith\s+)?\(?\be\.g\..*$|\s+\(e\.g\..*$", re.IGNORECASE)
_AS_PER = re.compile(r"\s+(?:as per|per|according to|see)\s+.*$", re.IGNORECASE)
_MAIN_CLAUSE = re.compile(r"^(?:if|in the event of|in case of|when|should)\b[^,]*?,\s*(?:then\s+)?", re.IGNORECASE)
_YOU_CAN = re.compile(r"\byou (?:can|should|must|may)\s+(.+)$", re.IGNORECASE)
_THEY_WILL = re.compile(r"\b(?:they|you|the engineer|we) (?:will|should|must)\s*:?\s*$", re.IGNORECASE)


# a deadline, an unanswered page or an escalation: what every rule here needs somewhere in its passage
_ANY = re.compile(r"\b(?:ack|acknowledg|respond|reply|answer|escalat|up to|no response|no answer)", re.I)
_CONDITION = re.compile(r"\b(?:if|in the event|in case|should)\b", re.I)


class ProseEscalation:
    def recognise(self, tree: Tree, found: Found) -> None:
        self.found = found
        self.seen = {(e.severity, e.within_minutes, e.action) for e in found.escalation}
        sections: dict[int, bool] = {}
        for passage in passages(tree):
            key = id(passage.section)
            if key not in sections:
                sections[key] = _escalation_section(passage)
            escalation_section = sections[key]
            if not (_ANY.search(passage.text) or (escalation_section and _CONDITION.search(passage.text))):
                continue  # no deadline, no escalation, no rule in an escalation section: most sentences
            for sentence in passage.sentences():
                self.sentence(sentence, passage, escalation_section)
            self.time_box(passage)

    def add(self, severity, notify, within, action) -> None:
        action = " ".join(plain(action or "").split()).strip(" .") or None
        key = (severity, within, action)
        if key in self.seen:
            return
        self.seen.add(key)
        self.found.escalation.append(
            ImportedEscalation(severity=severity, notify=notify, within_minutes=within, action=action)
        )

    def sentence(self, sentence: str, passage: Passage, escalation_section: bool) -> None:
        words = plain(sentence).strip()
        ack = _ACK.search(words)
        within = _WITHIN.search(words)
        if ack and within:
            paged = _PAGED.search(words)
            if paged:
                self.add(None, [_noun(paged.group(1))], minutes(within.group(1)), words)
                return
            expected = _EXPECTED.match(words)
            if expected:
                self.add(None, [_noun(expected.group(1))], minutes(within.group(1)), expected.group(2))
                return
        no_answer = _NO_ANSWER.match(words)
        if no_answer:
            target = _TARGET.search(no_answer.group(1))
            action = _AS_PER.sub("", words)
            self.add(None, [_noun(target.group(1))] if target else [], minutes(within.group(1)) if within else None,
                     action)
            return
        if not (escalation_section or re.search(r"\bescalat", words, re.IGNORECASE)):
            return
        kind = _INCIDENT_KIND.search(sentence)
        if kind is None or not re.match(r"^(?:if|in the event|in case|should)\b", words, re.IGNORECASE):
            return
        severity = plain(next(g for g in kind.groups() if g)).strip(" '\"")
        clause = _MAIN_CLAUSE.sub("", words, count=1) if "," in words else words
        you = _YOU_CAN.search(words)
        if you and (clause == words or len(you.group(1)) < len(clause)):
            clause = you.group(1)
        clause = _EXAMPLES.sub("", clause).strip(" ,.:")
        if clause.lower().startswith(("it is", "there is", "this is")):
            return
        notify = [_noun(m.group(1)) for m in _NOTIFY_CAPS.finditer(plain(passage.text))]
        if passage.items and clause.endswith(("stating", "including", "with")):
            clause = f"{clause} {' and '.join(plain(i).strip(' .') for i in passage.items)}"
        if not notify:
            notify = _from_heading(passage)
        self.add(severity, notify, None, clause)

    def time_box(self, passage: Passage) -> None:
        """'... work on those incidents for up to 1 hour. If not able to resolve within that timeframe they
        will:' followed by the list of what they do then."""
        words = plain(passage.text)
        box = re.search(r"\bfor up to\s+" + _TIME, words, re.IGNORECASE)
        if not box or not passage.items or not _THEY_WILL.search(words):
            return
        kind = _INCIDENT_KIND.search(words)
        severity = plain(next(g for g in kind.groups() if g)).strip(" '\"") if kind else None
        actions = [plain(i).strip(" .") for i in passage.items if plain(i).strip()]
        notify = [_noun(m.group(1)) for a in actions for m in _TARGET.finditer(a)]
        self.add(severity, notify, minutes(box.group(1)), " and ".join(actions))


def _escalation_section(passage: Passage) -> bool:
    section = passage.section
    while section is not None and section.level > 0:
        if title_class(section.title) == TitleClass.POLICY_PROCESS:
            return True
        section = section.parent
    return False


def _from_heading(passage: Passage) -> list[str]:
    title = plain(passage.section.title)
    target = re.search(r"\bcontact\s+(?:the\s+)?([\w -]{3,60})$", title, re.IGNORECASE)
    return [target.group(1).strip()] if target else []


def _noun(phrase: str) -> str:
    words = phrase.strip(" ,.")
    return re.sub(r"^(?:one of |any of |each of )?(?:the |a |an |your |our )", "", words, flags=re.IGNORECASE)
