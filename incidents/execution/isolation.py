"""Who a command runs as, and in what sandbox: decided once per worker process, from its settings.

A command must not be able to read what the worker holds: its environment (the database URL, the broker
URL), its files, its memory. So a command runs as another, unprivileged user (COMMAND_RUN_USER), which the
worker can start processes as only when it runs as root; where bubblewrap works, also inside a sandbox: a
read-only view of the host, its own /tmp, its own /proc (no view of the worker's processes), and nothing of
the worker's environment.

When the worker cannot switch users, commands are refused, unless COMMAND_ALLOW_SAME_USER=true says that
the risk is accepted (a laptop under `make run`): the reason is the run's failure reason, and the target's
admin page shows what its worker reported.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

SANDBOX_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class Isolation:
    """How this worker runs commands. `refused` non-empty: it runs none, and that is why."""

    user: str | None = None  # the user commands run as; None: the worker's own user
    uid: int | None = None
    gid: int | None = None
    sandbox: str | None = None  # the bwrap executable, when commands run inside bubblewrap
    refused: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def separate_user(self) -> bool:
        return self.uid is not None and self.uid != os.geteuid()

    @property
    def summary(self) -> str:
        """One line for the target's page and the timeline."""
        if self.refused:
            return f"refuses to run commands: {self.refused}"
        who = f"as user {self.user}" if self.separate_user else (
            "as the worker's own user (COMMAND_ALLOW_SAME_USER=true: commands can read the worker's "
            "environment and files)")
        where = "in a bubblewrap sandbox" if self.sandbox else "without a sandbox"
        return "; ".join([f"runs commands {who}, {where}", *self.notes])

    def report(self) -> dict:
        return {"summary": self.summary, "separate_user": self.separate_user, "sandbox": bool(self.sandbox),
                "refused": self.refused}

    def popen_user(self) -> dict:
        """Keyword arguments for subprocess.Popen that start the child as the run user."""
        if not self.separate_user:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    @classmethod
    def same_user(cls, *notes: str) -> Isolation:
        """The worker's own user, no sandbox: for the runner's own tests and an accepted risk."""
        return cls(uid=os.geteuid(), gid=os.getegid(), notes=tuple(notes))


_probed: dict[tuple, str] = {}


def bwrap_args(root: str, work: str, *, hide: tuple[str, ...] = ("/run/secrets",)) -> list[str]:
    """bubblewrap: the host read-only, its own /tmp, /proc and /dev, the run's folder, the work folder writable."""
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent"]
    for path in hide:
        if os.path.isdir(path):
            args += ["--tmpfs", path]
    args += ["--ro-bind", root, root, "--bind", work, work, "--chdir", work]
    return args


def _probe(bwrap: str, isolation: Isolation) -> str:
    """"" when bubblewrap can run a command here as the run user, else why not (cached per process)."""
    key = (bwrap, isolation.uid, isolation.gid)
    if key in _probed:
        return _probed[key]
    with tempfile.TemporaryDirectory(prefix="command-probe-") as root:
        os.chmod(root, 0o755)
        try:
            done = subprocess.run([bwrap, *bwrap_args(root, root), "--", "/bin/true"], capture_output=True,
                                  timeout=10, env={"PATH": "/usr/bin:/bin"}, **isolation.popen_user())
            problem = "" if done.returncode == 0 else (
                done.stderr.decode(errors="replace").strip().splitlines() or [f"exit {done.returncode}"])[-1]
        except (OSError, subprocess.SubprocessError) as exc:
            problem = str(exc)
    _probed[key] = problem
    return problem


def resolve(run_user: str = "", *, allow_same_user: bool = False, sandbox: str = "auto") -> Isolation:
    """The isolation this worker process can give commands, from COMMAND_RUN_USER, COMMAND_ALLOW_SAME_USER
    and COMMAND_SANDBOX."""
    me = os.geteuid()
    same = Isolation.same_user()
    if sandbox not in SANDBOX_MODES:
        return Isolation(refused=f"COMMAND_SANDBOX={sandbox!r} must be one of {', '.join(SANDBOX_MODES)}")
    if run_user:
        try:
            entry = pwd.getpwuid(int(run_user)) if run_user.isdigit() else pwd.getpwnam(run_user)
        except KeyError:
            return Isolation(refused=f"COMMAND_RUN_USER={run_user}: no such user on this host")
        if entry.pw_uid == 0:
            return Isolation(refused="COMMAND_RUN_USER must be an unprivileged user, not root")
        if entry.pw_uid == me:
            chosen = same if allow_same_user else Isolation(refused=(
                f"COMMAND_RUN_USER={run_user} is the worker's own user, so commands could read the worker's "
                "environment and files; run the worker as root (it starts each command as that user) or set "
                "COMMAND_ALLOW_SAME_USER=true to accept the risk"))
        elif me == 0:
            chosen = Isolation(user=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid)
        elif allow_same_user:
            chosen = Isolation.same_user(f"COMMAND_RUN_USER={run_user} is ignored: a worker that is not root "
                                         "cannot start processes as another user")
        else:
            chosen = Isolation(refused=(
                f"the worker runs as uid {me}, which cannot start commands as {run_user}: run the commands "
                "worker as root (it starts every command as that user), or set COMMAND_ALLOW_SAME_USER=true "
                "to accept that commands can read the worker's environment and files"))
    elif allow_same_user:
        chosen = same
    else:
        return Isolation(refused=(
            "COMMAND_RUN_USER is not set, so commands would run as the worker itself and could read its "
            "environment and files; set it to an unprivileged user (the worker must run as root), or set "
            "COMMAND_ALLOW_SAME_USER=true to accept the risk"))
    if chosen.refused or sandbox == "off":
        return chosen
    bwrap = shutil.which("bwrap", path="/usr/local/bin:/usr/bin:/bin")
    problem = "bubblewrap is not installed" if bwrap is None else _probe(bwrap, chosen)
    if not problem:
        return Isolation(user=chosen.user, uid=chosen.uid, gid=chosen.gid, sandbox=bwrap, notes=chosen.notes)
    if sandbox == "on":
        return Isolation(refused=f"COMMAND_SANDBOX=on, but bubblewrap cannot run here: {problem}")
    return Isolation(user=chosen.user, uid=chosen.uid, gid=chosen.gid,
                     notes=(*chosen.notes, f"no sandbox ({problem})"))
