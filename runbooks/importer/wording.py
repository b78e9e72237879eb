"""What a heading names and whether a sentence tells someone to do something.

The shape of a document is decided from these two readings (see shape.py):

- a heading is a PHASE of a procedure (Meaning, Diagnosis, Rollback, Prerequisites...), an ACTION
  ('Step 2: Check the logs', '3. Assign roles', 'Isolate affected instances'), a ROLE ('Incident lead'),
  a VARIANT (a severity: 'Critical', 'Warning'), an ENTRY (an alert or problem: 'KubePodCrashLooping',
  'Issue: disk full', 'HighPod* alerts'), POLICY (schedules, hours, channels, severity levels: never a
  runbook), a POLICY_PROCESS (escalation, on-call process: a runbook when it instructs), NEUTRAL
  (references, examples), GUIDELINE (a heading that is a whole sentence: a rule for writing, not a
  procedure) or a TOPIC ('Docker Engine', 'Recreating GKE cluster').
- a sentence is an instruction when it starts with an imperative ('Check', 'Do not', 'Please email'),
  after a leading clause ('If the incident is urgent, start a thread'), or says 'you can/should VERB'
  after a condition.

The words are general incident-response English, not any one document's.
"""

from __future__ import annotations

import enum
import re
from functools import lru_cache

from runbooks.importer.inline import plain, strip_symbols
from runbooks.importer.vocabulary import drop_numbering, phase_of, severity_cell


class TitleClass(enum.Enum):
    PHASE = "phase"
    ACTION = "action"
    ROLE = "role"
    VARIANT = "variant"
    ENTRY = "entry"
    POLICY = "policy"
    POLICY_PROCESS = "policy process"
    NEUTRAL = "neutral"
    GUIDELINE = "guideline"
    TOPIC = "topic"


# parts of a procedure: a section with one of these titles is never a runbook of its own
PHASE_LIKE = frozenset({TitleClass.PHASE, TitleClass.ACTION, TitleClass.ROLE, TitleClass.VARIANT})

_VERBS = frozenset(
    """
    access acknowledge activate add adjust alert allow announce append apply appoint approve archive ask
    assemble assess assign attach attempt audit avoid back backup be block blacklist boot bounce bring
    build bump call cancel capture cc change check choose clean cleanup clear click clone close collect
    comb comment commit communicate compare configure confirm connect consider contact continue
    coordinate copy cordon create cut deactivate decide declare decrease define delegate delete deploy
    describe destroy determine diagnose disable discuss disconnect dispatch disseminate do document
    don't download drain drop dump edit email end enable encrypt engage enlarge ensure enter escalate
    estimate evaluate examine exec execute expand export extend fail failover feel fetch field file fill
    filter find finish fix flush follow force forward gather generate get give go grab grant grep handle
    handover hold identify ignore import include increase inform inspect install investigate invite
    involve isolate join keep kill know label launch leave liaise limit link list load locate lock log
    login look loop lower make manage mark mention merge migrate modify monitor mount move mute navigate
    never notify obtain open optimize optimise overview page paste patch pause perform pick ping place
    plan point port-forward post prefer prefix prepare press prevent print prioritise prioritize proceed
    promote provide publish pull purge push put query raise re-enable re-run read rebalance reboot
    rebuild recover recreate redeploy reduce refer refresh register reinstall reinstate reject release
    reload remember remove rename reopen repair repeat replace report request requeue rerun reserve
    reset resize resolve restart restore resume retry return revert review revoke roll rollback rotate
    run save scale schedule search see seed select send set setup share shut shutdown silence skip
    snapshot sort specify spin ssh start state stay stop store submit subscribe suspend swap switch sync
    tag tail take talk tell terminate test thank throttle tidy toggle track transfer trigger truncate
    try turn type unblock uncordon undo uninstall unlock unmount unpause update upgrade upload use
    validate verify visit wait watch wipe work write
    """.split()  # noqa: SIM905 - a word list reads better as words
)
# words that open a sentence as a noun far more often than as an imperative
_NOUNISH = frozenset(
    """
    log list document record note test report track back work use post page file alert
    """.split()  # noqa: SIM905 - a word list reads better as words
)
_DETERMINERS = frozenset("the a an any all your it this that them each every in to".split())  # noqa: SIM905
_LEAD_WORDS = frozenset(
    """
    then now first firstly second next finally also additionally optionally again afterwards meanwhile
    """.split()  # noqa: SIM905 - a word list reads better as words
)
_LEAD_CLAUSE = re.compile(
    r"^(?:if|when|once|after|before|from|in|to|for|depending on|where|while|unless|until|as|with|on|at|during"
    r"|should|whenever|since)\b[^,:]{0,200}?,\s*",
    re.IGNORECASE,
)
_YOU_MODAL = re.compile(
    r"\byou(?:'ll| will)? (?:can|should|must|need to|may want to|have to|could)\s+(?:also\s+|first\s+|then\s+)?(\w+)",
    re.IGNORECASE,
)
_THEN_VERB = re.compile(r"\bthen\s+(?:also\s+)?(?!be\b)(\w+)", re.IGNORECASE)
_PLEASE = re.compile(r"\bplease\s+(?:also\s+|first\s+)?(\w+)", re.IGNORECASE)
_MAKE_SURE = re.compile(r"^(?:make sure|be sure|ensure|remember)\b", re.IGNORECASE)

_NEUTRAL = re.compile(
    r"^(?:references?|see also|additional (?:reading|resources|information|info)|further (?:reading|information)"
    r"|related(?: \w+)?|resources|links?(?: and resources)?|useful links|external links|sources|footnotes"
    r"|(?:examples?|samples?)(?:\s+(?:alert\s+)?(?:output|payload|response|message|logs?|results?|alert))?"
    r"|examples? of\b.*|appendix\b.*|changelog|history|revision history|glossary"
    r"|table of contents|contents|toc|faq|important\s*:.*|notes?|caveats?|.*\bquick reference|.*\bcheat ?sheet"
    r"|.*\bcommand reference|.*\breference guide|(?:handy|useful|common|helpful|other|quick|misc\w*|more)"
    r"\s+(?:\w+\s+)?(?:commands|snippets|one-?liners|aliases|queries|scripts)(?:\s+\d+)?)$",
    re.IGNORECASE,
)
_POLICY = re.compile(
    r"\b(?:schedules?|rotas?|rotations?|hours|working hours|office hours|opening hours|severity levels?"
    r"|priority levels?|priorities|severities|sla|slas|slos?|contacts?|contact list|channels?|slack channels?"
    r"|who to contact|support model|calendar|holidays?|ownership|owners?|stakeholders|glossary|definitions?"
    r"|documentation|dashboards?|metrics and observations|incidents log|log of incidents)\b",
    re.IGNORECASE,
)
_POLICY_PROCESS = re.compile(r"\b(?:escalat\w*|on[- ]?call|paging|getting help|get help)\b", re.IGNORECASE)
_PROCEDURE_WORD = re.compile(
    r"^(?:procedure|process|the process|steps|runbook|playbook|execution|checklist|prerequisites?"
    r"|pre-?requisites?|preparation|before you (?:begin|start)|requirements|roll ?back|rollback|back ?out"
    r"|responsibilities|roles(?: and responsibilities)?|.*\broles and responsibilities|instructions|how to"
    r"|what to do(?: about it)?|actions|next steps|recommended actions|immediate actions|post[- ]checks?"
    r"|pre[- ]checks?|pre-?flight(?: checks)?|clean ?up|known issues|workarounds?|troubleshooting(?: steps)?"
    r"|common causes|possible causes|causes|debugging|diagnos\w*|meaning|impact|purpose|scope|overview"
    r"|summary|background|context|description|symptoms?|signs|detection|identification|what is \w+.*"
    r"|about(?: this \w+)?|considerations|notes on \w+)$",
    re.IGNORECASE,
)
_ROLE = re.compile(
    r"^(?:the )?(?:incident |communications? |comms |technical |deputy |security )?(?:lead|commander|scribe"
    r"|messenger|manager|liaison|coordinator|officer|responder|owner)s?$",
    re.IGNORECASE,
)
_STEP_NUMBERED = re.compile(r"^\s*(?:step|phase|stage|part)\s*\d+[a-z]?\b", re.I)
_NUMBERED = re.compile(r"^\s*\d+(?:\.\d+)*[.):]?\s+(?=\S)")
_CASE = re.compile(
    r"^(?:if|when|once|unless|option|alternative(?:ly)?|method|approach|variant|fallback|plan [a-z])\b", re.I
)
_PROBLEM = re.compile(
    r"\b(?:issues|problems|errors|failures?|conflicts|outages?|crash(?:es|ing)?|crashloop\w*|timeouts?|exhausted"
    r"|saturation|saturated|leaks?|down|not ok|not working|unavailable|unreachable|overdue|not queued|stuck|full"
    r"|degraded|degradation|latency|breach|expir(?:ed|ing|y))$",
    re.IGNORECASE,
)
_GERUND = re.compile(
    r"^[a-z]{3,}ing\s+(?!(?:steps?|tips|guide|notes|checklist|procedure|process)$)\S", re.I
)
_QUESTION = re.compile(r"^(?:when|if|once)\s+(?:does|do|is|are|did|will|should|can|was|were)\b|.*\?$", re.I)
# descriptive phases: they say what the alert means, they are not what a responder does
_DESCRIPTIVE = re.compile(
    r"^(?:meaning|impact|purpose|scope|overview|summary|background|context|description|what is\b.*|about\b.*"
    r"|considerations|notes on\b.*|business impact|customer impact|user impact|explanation|details)$",
    re.IGNORECASE,
)
_PREFIXED = re.compile(
    r"^(?:alert(?:name)?|alarm|issue|problem|incident|scenario|symptom|failure mode|error|playbook|runbook|sop)"
    r"(?:\s*#?\d+)?\s*[:–—-]\s+\S",
    re.IGNORECASE,
)
# 'KubePodCrashLooping', 'etcdHighFsyncDurations', 'MCDPivotError', 'High5xxRate', 'pg_txid_xmin_age'
_ALERT_NAME = re.compile(
    r"^`?(?=[A-Za-z0-9]*[a-z])(?:[A-Z]+|[a-z]+)?(?:[A-Z][a-z0-9]+){2,}[A-Za-z0-9]*\*?`?$"
    r"|^`?[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*){1,}\*?`?$|^`?[a-z]+(?:_[a-z0-9]+){2,}`?$"
)
_ALERTS_SUFFIX = re.compile(r"\S\s+alerts?$", re.IGNORECASE)
_ALERT_GROUP = re.compile(
    r"^(?:pagerduty|slack|opsgenie|email|page|paging|ticket|critical|warning|info|high|low|medium"
    r"|prometheus|alertmanager|grafana|cloudwatch|icinga|nagios|datadog)\s+alerts?$",
    re.IGNORECASE,
)


@lru_cache(maxsize=8192)
def title_class(raw: str) -> TitleClass:
    """What a heading names; see the module docstring."""
    text = strip_symbols(plain(raw)).strip().rstrip(":").strip()
    if not text:
        return TitleClass.TOPIC
    words = drop_numbering(text)
    if _NEUTRAL.match(words):
        return TitleClass.NEUTRAL
    if text.endswith(".") or (text[:1] in "\"'“" and text.rstrip("_*")[-1:] in "\"'”"):
        return TitleClass.GUIDELINE  # a whole sentence, or a quoted one: a rule or an example
    if words.endswith("?"):
        return TitleClass.ACTION  # 'Is it slow for one user?': a question the responder answers, a step
    if _PREFIXED.match(words) or (_ALERT_NAME.match(words) and " " not in words):
        return TitleClass.ENTRY
    if _ALERTS_SUFFIX.search(words) and not _ALERT_GROUP.match(words):
        return TitleClass.ENTRY
    if _POLICY_PROCESS.search(words):
        return TitleClass.POLICY_PROCESS
    if _STEP_NUMBERED.match(text):
        return TitleClass.ACTION
    numbered = bool(_NUMBERED.match(text))
    if _POLICY.search(words) and not numbered:
        return TitleClass.POLICY
    if severity_cell(words) is not None and len(words.split()) <= 3:
        return TitleClass.VARIANT
    if _PROBLEM.search(words):
        return TitleClass.ENTRY  # 'Engine Version Conflicts', 'Read Replica Issues', 'Disk full'
    if _GERUND.match(words) and not _PROCEDURE_WORD.match(words):
        return TitleClass.TOPIC  # 'Enabling debug logging', 'Recreating the cluster': a how-to's name
    if _CASE.match(words) and not _QUESTION.match(words):
        return TitleClass.ACTION  # 'If CPU-bound:', 'Option A: roll back': a case within a procedure
    if _PROCEDURE_WORD.match(words):
        return TitleClass.PHASE
    phase = phase_of(words)
    if phase and phase != "other" and len(words.split()) <= 4:
        return TitleClass.PHASE
    if _ROLE.match(words):
        return TitleClass.ROLE
    if starts_imperative(words) or (numbered and _titled_verb(words)):
        return TitleClass.ACTION
    return TitleClass.TOPIC


def _titled_verb(words: str) -> bool:
    """'2. List Available Snapshots': in a numbered Title Case heading a verb that is often a noun still
    leads ('List', 'Log', 'Document')."""
    first = words.split(None, 1)
    return bool(first) and first[0].lower() in _VERBS and len(first) > 1 and first[1][:1].isupper()


@lru_cache(maxsize=8192)
def descriptive_title(raw: str) -> bool:
    """'Meaning', 'Impact', 'Purpose', 'What is the ETL process': sections that explain."""
    return bool(_DESCRIPTIVE.match(drop_numbering(strip_symbols(plain(raw)).strip().rstrip(":"))))


@lru_cache(maxsize=8192)
def named_checklist(raw: str) -> bool:
    """'Post-Incident Checklist', 'Initial response checklist': a checklist named for what it is for (a bare
    'Checklist' or 'Procedure' is a part of the document it stands in)."""
    text = strip_symbols(plain(raw)).strip()
    if _NUMBERED.match(text) or _STEP_NUMBERED.match(text):
        return False  # '6. Post-incident procedure' is a step of the procedure it is numbered in
    words = text.rstrip(":").lower().split()
    return len(words) >= 2 and words[-1] in ("checklist", "runbook", "playbook", "procedure", "process", "sop")


@lru_cache(maxsize=8192)
def procedural_title(raw: str) -> bool:
    """A title that says it is a procedure: 'Escalation Process', 'Critical incidents - contact the on-call
    person', 'How to restore', 'Steps to rotate the token'."""
    text = strip_symbols(plain(raw)).lower()
    if re.search(r"\b(?:process|procedure|checklist|playbook|runbook|steps|how to|instructions)\b", text):
        return True
    return any(starts_imperative(part) for part in re.split(r"\s+[-–—:]\s+", text)[1:])


@lru_cache(maxsize=16384)
def starts_imperative(text: str) -> bool:
    """'Check the pods', 'Do not restart', 'Actively participate', 'Then run' -> True."""
    words = re.findall(r"[A-Za-z'’-]+", text[:120])
    while words and words[0].lower() in _LEAD_WORDS:
        words = words[1:]
    if words and words[0].lower().endswith("ly") and len(words) > 1 and words[1].lower() in _VERBS:
        words = words[1:]  # 'Actively participate', 'Manually patch'
    if not words:
        return False
    first = words[0].lower().replace("’", "'")
    if first in ("do", "don't", "never", "always") and len(words) > 1:
        return True
    if first not in _VERBS:
        return False
    if first in _NOUNISH:
        nxt = words[1].lower() if len(words) > 1 else ""
        return nxt in _DETERMINERS
    # 'Check' followed by a verb form or a copula is a sentence about checks, not an order
    return not (len(words) > 1 and words[1].lower() in ("is", "are", "was", "were", "has", "have", "will", "can"))


@lru_cache(maxsize=16384)
def is_instruction(text: str) -> bool:
    """Does this sentence (or item) tell the reader to do something?"""
    words = strip_symbols(plain(text)).strip()
    if not words or words.endswith(":") and len(words.split()) <= 12:
        return False
    if starts_imperative(words) or _MAKE_SURE.match(words):
        return True
    clause = _LEAD_CLAUSE.match(words)
    if clause and starts_imperative(words[clause.end() :]):
        return True
    if re.match(r"^(?:if|when|once|in the event|in case|should)\b", words, re.IGNORECASE):
        for pattern in (_YOU_MODAL, _THEN_VERB, _PLEASE):
            found = pattern.search(words)
            if found and found.group(1).lower() in _VERBS:
                return True
    found = _PLEASE.search(words)
    return bool(found and found.group(1).lower() in _VERBS and found.group(1).lower() != "note")
