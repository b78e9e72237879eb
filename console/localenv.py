"""The developer machine's own settings file, `var/local.env`: what lets `manage.py` work there unexported.

`make run` and `make import` write it once (`python -m console.localenv`), with a generated SECRET_KEY and
DEBUG=true; settings read it when it is there. That is how settings know they are on a developer machine: the
file exists only where make wrote it. A server never has one (the image leaves `var/` out, compose gives its
own environment), so production still refuses to start without its own SECRET_KEY.

Rules, in the order settings apply them:
- the environment always wins: a NAME already set is never changed by the file;
- an environment that brings its own SECRET_KEY (or SECRET_KEY_FILE) is a deployment, a benchmark or a test's
  worker: the file is not read at all, so a laptop's DEBUG=true cannot leak into it;
- the test suite itself never reads it (its settings must not depend on whether make run was used).

The file is `NAME=value` lines (no quotes, no expansion), `#` starts a comment; it is made readable by its owner
only (the secret key signs sessions and encrypts webhook URLs).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

FILE_NAME = "local.env"
HEADER = """\
# Written by `make run` / `make import` for this machine only: manage.py reads it, so nothing needs exporting.
# Never copy it to a server: production sets SECRET_KEY itself (README.md, docs/deploying.md).
# The environment wins over every line here. Delete this file to get a new secret key (sessions end, and
# webhook URLs stored since must be entered again).
"""


def path_for(var_dir: Path) -> Path:
    return Path(var_dir) / FILE_NAME


def read(path: Path) -> dict[str, str]:
    """The NAME=value pairs of a local settings file; {} when there is none."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        name = name.strip()
        if name.isidentifier() and name.upper() == name:
            values[name] = value.strip()
    return values


def apply(var_dir: Path, environ=os.environ) -> dict[str, str]:
    """Fill the environment from the local file where it says nothing; returns what was taken from the file."""
    if environ.get("SECRET_KEY") or environ.get("SECRET_KEY_FILE"):
        return {}
    taken = {name: value for name, value in read(path_for(var_dir)).items() if name not in environ}
    environ.update(taken)
    return taken


def write(var_dir: Path) -> tuple[Path, bool]:
    """Make the file when it is missing: (its path, whether it was made now). An existing file is kept as is."""
    path = path_for(var_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path, False
    body = HEADER + f"SECRET_KEY={secrets.token_urlsafe(50)}\nDEBUG=true\n"
    # Created with owner-only permissions from the start: never a moment where others could read the key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
    return path, True


def var_dir() -> Path:
    """The folder settings use (CONSOLE_VAR_DIR, else ./var next to manage.py)."""
    return Path(os.environ.get("CONSOLE_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))


def main() -> int:
    path, made = write(var_dir())
    if made:
        print(f"wrote {path} (a secret key for this machine; manage.py reads it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
