"""What a command may invoke: the one entry point the runner and the run form ask.

* `programs_in` / `check_allowed`: every program a bash script would start (`bash.Walker`), or psql for SQL
  (`sql.check_sql`), checked against the target's allow-list. A few builtins (`programs.IMPLICITLY_ALLOWED`:
  echo, printf, test, sleep, cd, set, export, read, wait, …) need no listing, with their assigning options
  checked. Options and variables that turn an allowed program into another one are refused
  (`programs.PROGRAM_RULES`, `programs.CODE_VARIABLES`). An allowed program that can start others by itself
  (ssh, ``kubectl exec``, awk's system(), git) is trusted with what it starts: allow only what you would
  trust with a shell.
* `split_dsn`: a DSN without its password, so the password never reaches a command line.

The jobs live in their own modules: `bash` (the walker), `programs` (the tables), `sql` (SQL and DSNs).
"""

from __future__ import annotations

from collections.abc import Iterable

from runbooks import languages

from .bash import PROTECTED_PREFIXES, PROTECTED_VARIABLES, Walker
from .errors import CommandRefused
from .programs import BASH_BUILTINS, CODE_VARIABLES, IMPLICITLY_ALLOWED, PROGRAM_RULES
from .sql import check_sql, split_dsn

__all__ = [
    "BASH_BUILTINS", "CODE_VARIABLES", "IMPLICITLY_ALLOWED", "PROGRAM_RULES", "PROTECTED_PREFIXES",
    "PROTECTED_VARIABLES", "CommandRefused", "check_allowed", "programs_in", "split_dsn",
]


def programs_in(script: str, language: str = "bash") -> list[str]:
    """Every program `script` would start, in order of appearance, each once.

    SQL runs through psql, so for SQL this is ``["psql"]`` once the SQL itself passes its checks.
    Raises CommandRefused, with a reason a person can act on, for anything that cannot be checked.
    """
    lang = languages.normalise(language)
    if lang == languages.SQL:
        check_sql(script)
        return ["psql"]
    if lang != languages.BASH:
        raise CommandRefused(languages.not_runnable_reason(language))
    walker = Walker()
    walker.parse(script, depth=0)
    return list(walker.programs)


def check_allowed(script: str, allowed_programs: Iterable[str], language: str = "bash", *,
                  target_name: str | None = None) -> None:
    """Raise CommandRefused naming the first program in `script` that `allowed_programs` does not list.

    Names are compared exactly: a script calling ``/usr/bin/kubectl`` needs that path on the list, so a
    program of the same name elsewhere on disk is never taken for the allowed one. IMPLICITLY_ALLOWED
    builtins need no listing.
    """
    allowed = set(allowed_programs)
    where = f"target '{target_name}'" if target_name else "this target"
    for program in programs_in(script, language):
        if program not in allowed and program not in IMPLICITLY_ALLOWED:
            hint = ""
            if "/" in program and program.rsplit("/", 1)[-1] in allowed:
                hint = f" (it allows '{program.rsplit('/', 1)[-1]}': call it by that name)"
            raise CommandRefused(f"'{program}' is not on the allow-list for {where}{hint}.")
