"""What SQL may do through psql, and a DSN without its password (so the password never reaches a command line)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from runbooks.scanning import scan_sql

from .errors import CommandRefused

_SAFE_META = re.compile(r"d[A-Za-z]{0,3}[+S]*|l\+?|x|t|a|timing|conninfo|echo|qecho|pset|encoding")
_UNTRUSTED_LANGUAGES = re.compile(r"\b(?:plpython\w*u|plperlu|pltclu|plsh|plr)\b", re.IGNORECASE)


def check_sql(script: str, *, empty_ok: bool = False) -> None:
    if not script.strip() and not empty_ok:
        raise CommandRefused("the SQL is empty.")
    scan = scan_sql(script)
    for _, name in scan.meta_commands:
        if not _SAFE_META.fullmatch(name):
            raise CommandRefused(
                f"psql meta-command '\\{name}' is not allowed (only \\d…, \\l, \\x, \\t, \\a, \\timing, "
                "\\conninfo, \\echo and \\pset): others run programs or read and write files."
            )
    if re.search(r"\bcopy\b[^;]*\bprogram\b", scan.code, re.IGNORECASE):
        raise CommandRefused("COPY … PROGRAM runs a program on the database server and is not allowed.")
    if _UNTRUSTED_LANGUAGES.search(script):
        raise CommandRefused("untrusted procedural languages (plpython3u, plperlu, …) run programs and are "
                             "not allowed.")


def split_dsn(dsn: str) -> tuple[str, str | None]:
    """The DSN without its password, and the password, so the password goes in PGPASSWORD and not on the
    command line, where any user of the host could read it in the process list."""
    if re.match(r"postgres(?:ql)?://", dsn):
        parts = urlsplit(dsn)
        password = None
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                user, raw = userinfo.split(":", 1)
                password = unquote(raw)
                netloc = f"{user}@{host}"
        query = parse_qsl(parts.query, keep_blank_values=True)
        for key, value in query:
            if key == "password":
                password = value
        query = [(k, v) for k, v in query if k != "password"]
        return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment)), password
    found = re.search(r"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn)
    if not found:
        return dsn, None
    raw = found.group(1)
    password = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith("'") else raw
    return (dsn[:found.start()] + dsn[found.end():]).strip(), password
