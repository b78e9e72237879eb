"""The impact questionnaire: five questions a person answers at 3 a.m., a severity level suggested with reasons.

Plain functions: `suggest(answers, levels)`. The answers place the impact on four steps (0 the worst, 3 the
mildest), mapped onto the organisation's own matrix by rank (a matrix of three levels puts steps 2 and 3 on its
lowest). An answer of "not sure" counts as the worse answer: at 3 a.m. an over-call costs a few pages, an
under-call costs the response.
"""

from __future__ import annotations

from dataclasses import dataclass, field

UNSURE = "unsure"

QUESTIONS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("users", "How many users are affected?",
     [("none", "None (internal only)"), ("some", "Some"), ("most", "Most or all"), (UNSURE, "Not sure")]),
    ("data", "Is data lost or corrupted?", [("no", "No"), ("yes", "Yes"), (UNSURE, "Not sure")]),
    ("money", "Is money being lost (payments failing, double charges)?",
     [("no", "No"), ("yes", "Yes"), (UNSURE, "Not sure")]),
    ("security", "Is security at stake (a breach, exposed data, an attacker)?",
     [("no", "No"), ("yes", "Yes"), (UNSURE, "Not sure")]),
    ("workaround", "Can users work around it?", [("yes", "Yes"), ("no", "No"), (UNSURE, "Not sure")]),
]
_WORSE = {"users": "most", "data": "yes", "money": "yes", "security": "yes", "workaround": "no"}
_ASKED = {key: text for key, text, _ in QUESTIONS}
_CHOICES = {key: {value for value, _ in options} for key, _, options in QUESTIONS}


@dataclass
class Suggestion:
    level: object | None  # a SeverityLevel
    step: int | None
    reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    answered: int = 0


def clean_answers(data) -> tuple[dict[str, str], list[str]]:
    """The answers among `data` (a QueryDict or dict), and what was given that is not an answer."""
    answers, problems = {}, []
    for key, _, _ in QUESTIONS:
        value = str(data.get(key, "") or "").strip().lower()[:20]
        if not value:
            continue
        if value not in _CHOICES[key]:
            problems.append(f"“{value}” is not an answer to “{_ASKED[key]}”; that question was left out.")
            continue
        answers[key] = value
    return answers, problems


def impact_step(answers: dict[str, str]) -> tuple[int | None, list[str]]:
    """0 (worst) to 3 (mildest) with the reasons, or None when nothing was answered."""
    if not answers:
        return None, []
    reasons, given = [], {}
    for key, value in answers.items():
        if value == UNSURE:
            given[key] = _WORSE[key]
            reasons.append(f"Not sure about “{_ASKED[key][:-1].lower()}”: counted as the worse answer "
                           "(when unsure, the higher level).")
        else:
            given[key] = value
    users, workaround = given.get("users"), given.get("workaround")
    steps = []
    if given.get("data") == "yes":
        steps.append((0, "Data is lost or corrupted."))
    if given.get("security") == "yes":
        steps.append((0, "Security is at stake."))
    if users == "most" and workaround == "no":
        steps.append((0, "Most users are affected and cannot work around it."))
    if given.get("money") == "yes":
        steps.append((1, "Money is being lost."))
    if users == "most" and workaround != "no":
        steps.append((1, "Most users are affected."))
    if users == "some":
        steps.append((1, "Some users are affected and cannot work around it.") if workaround == "no"
                     else (2, "Some users are affected" + (", with a workaround." if workaround == "yes" else ".")))
    if users == "none":
        steps.append((3, "No user is affected."))
    if not steps:
        steps.append((2 if workaround == "no" else 3, "Nothing answered points higher."))
    worst = min(step for step, _ in steps)
    reasons = [text for step, text in steps if step == worst] + reasons
    return worst, reasons


def suggest(answers: dict[str, str], levels: list) -> Suggestion:
    """The level of `levels` (ordered most severe first) the answers point to, and why."""
    step, reasons = impact_step(answers)
    if step is None:
        return Suggestion(None, None, [], ["Answer at least one question for a suggestion."], 0)
    if not levels:
        return Suggestion(None, step, reasons, ["The severity matrix is empty: import it or add levels first."],
                          len(answers))
    ordered = sorted(levels, key=lambda level: level.rank)
    return Suggestion(ordered[min(step, len(ordered) - 1)], step, reasons, [], len(answers))
