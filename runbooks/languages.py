"""Which command languages the console knows, and which of them it can run: the one definition.

A fence's info string is normalised when a document is imported (`normalise`), so a stored command says
`bash` or `sql` for everything the console can run, and keeps any other name as it was written (lower-cased).
Everything that asks "can this run?" asks `is_runnable`: the Run link on a checklist, the run form, the model
that stores a run and the runner that starts the process.
"""

from __future__ import annotations

BASH = "bash"
SQL = "sql"
CONSOLE = "console"  # a terminal transcript: prompted lines are commands, the rest is their output

# Names people give a fence, and the language the console stores for them.
_ALIASES = {
    "bash": BASH, "sh": BASH, "shell": BASH, "zsh": BASH, "ksh": BASH, "dash": BASH,
    "sql": SQL, "psql": SQL, "postgres": SQL, "postgresql": SQL, "pgsql": SQL, "plpgsql": SQL,
    "console": CONSOLE, "shell-session": CONSOLE, "shellsession": CONSOLE, "terminal": CONSOLE,
    "sh-session": CONSOLE, "bash-session": CONSOLE,
}

# Languages whose text is run (through bash, or through psql): a transcript is read, not run.
RUNNABLE = frozenset({BASH, SQL})
# Every spelling each runnable language arrives under, for code that reads older stored commands.
BASH_LANGUAGES = frozenset(name for name, lang in _ALIASES.items() if lang == BASH)
SQL_LANGUAGES = frozenset(name for name, lang in _ALIASES.items() if lang == SQL)


def normalise(language: str | None, default: str = BASH) -> str:
    """The stored name for a fence's language: `bash`/`sql`/`console` for their spellings, else lower-cased."""
    name = (language or "").strip().lower()
    if not name:
        return default
    return _ALIASES.get(name, name)


def is_runnable(language: str | None) -> bool:
    """Whether the console can run a command written in `language` (an empty language is bash)."""
    return normalise(language) in RUNNABLE


def not_runnable_reason(language: str | None) -> str:
    name = normalise(language)
    if name == CONSOLE:
        return "A console transcript is shown for reading: its prompted lines are the commands to run."
    return f"{name} blocks are shown for reading; the console runs only bash and SQL."
