"""How a command really runs on a worker.

`run`: bash (``--noprofile --norc`` reading the script from a file, no ``-e`` and no pipefail, so a script
behaves exactly as the person who wrote it saw it behave at a prompt) or psql (``-X``), as the run user and
inside bubblewrap where the worker's `Isolation` says so, in a new session and process group, stdin from
/dev/null (psql: the script file), a scrubbed environment, a read-only empty HOME and a private work folder,
output streamed through `Redactor` (terminal escape codes stripped) and capped; timeout and cancel stop the
whole process group, and so does the script's own end (nothing it started in the background outlives the run).
"""


from __future__ import annotations

import codecs
import contextlib
import dataclasses
import fcntl
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import psutil

from runbooks import languages

from .isolation import Isolation, bwrap_args
from .policy import (
    BASH_BUILTINS,
    PROTECTED_PREFIXES,
    PROTECTED_VARIABLES,
    CommandRefused,
    check_allowed,
    programs_in,
    split_dsn,
)
from .redaction import Redactor, redact

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
LEFTOVER_GRACE = 0.5  # seconds background children may keep the output open after the script exits
READ_SIZE = 1024 * 1024
CANCEL_POLL = 0.1  # should_cancel is asked at most this often
LOOKAHEAD = 8192  # characters redacted past the cap, so a secret straddling it is still recognised

# --- running --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionResult:
    """How a run ended. `output` is exactly what was passed to on_output, truncation marker included."""

    state: str  # "succeeded" | "failed" | "timed_out" | "cancelled"
    exit_code: int | None
    output: str
    truncated: bool
    reason: str


class _Output:
    """Decodes, redacts, caps and batches output on its way to on_output."""

    def __init__(self, on_output: Callable[[str], None], cap: int, redactor: Redactor) -> None:
        self.on_output = on_output
        self.cap = max(0, int(cap))
        self.redactor = redactor
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending: list[str] = []
        self.kept: list[str] = []
        self.passed = 0  # UTF-8 bytes of text passed on
        self.truncated = False
        self.discarded = 0
        self.raw_tail = b""  # the last bytes seen, kept or not, to explain an exit status

    def feed(self, data: bytes) -> None:
        self.raw_tail = (self.raw_tail[-4096:] + data[-4096:])[-4096:]
        if self.truncated:
            self.discarded += len(data)
            return
        text = self.decoder.decode(data)
        # Redact only about as much as can still be kept: a flood of output past the cap costs nothing.
        while text and not self.truncated:
            piece, text = text[:self.cap - self.passed + LOOKAHEAD], text[self.cap - self.passed + LOOKAHEAD:]
            self._take(self.redactor.feed(piece))
        if text:
            self.discarded += len(text.encode())

    def _take(self, text: str) -> None:
        if not text or self.truncated:
            return
        encoded = text.encode()
        room = self.cap - self.passed
        if len(encoded) > room:
            text = encoded[:room].decode("utf-8", errors="ignore")
            self.truncated = True
            self.discarded += len(encoded) - len(text.encode()) + self.redactor.pending
        if text:
            self.pending.append(text)
            self.kept.append(text)
            self.passed += len(text.encode())

    def flush(self) -> None:
        if self.pending:
            chunk = "".join(self.pending)
            self.pending.clear()
            self.on_output(chunk)

    def finish(self) -> None:
        if not self.truncated:
            self._take(self.redactor.feed(self.decoder.decode(b"", final=True)) + self.redactor.flush())
        if self.truncated:
            marker = (f"\n[output truncated: cap of {self.cap} bytes reached; "
                      f"{self.discarded} more bytes discarded]\n")
            self.pending.append(marker)
            self.kept.append(marker)
        self.flush()

    @property
    def text(self) -> str:
        return "".join(self.kept)


def run(
    script: str,
    *,
    language: str,
    env: dict[str, str],
    timeout: float,
    output_cap: int,
    on_output: Callable[[str], None],
    on_heartbeat: Callable[[], None],
    should_cancel: Callable[[], bool],
    isolation: Isolation,
    flush_interval: float = 0.5,
    heartbeat_interval: float = 2.0,
    dsn: str | None = None,
    allowed_programs: Iterable[str],
    target_name: str,
    secrets: Iterable[str] = (),
) -> ExecutionResult:
    """Run `script` to its end, a timeout or a cancel, streaming its redacted output (see the module doc).

    Raises CommandRefused before anything starts when the script, the environment or the worker's
    isolation cannot be allowed. A program missing from this host is a "failed" result naming the host,
    not an exception.
    """
    lang = languages.normalise(language)
    if isolation.refused:
        raise CommandRefused(f"the worker {isolation.summary}.")
    if not script.strip():
        raise CommandRefused("the script is empty.")
    if lang == languages.SQL and not dsn:
        raise CommandRefused("this target has no SQL database configured.")
    check_allowed(script, allowed_programs, lang, target_name=target_name)
    for name in env:
        if name in PROTECTED_VARIABLES or name.startswith(PROTECTED_PREFIXES) or name in _CONSOLE_SETS:
            raise CommandRefused(f"target '{target_name}' sets {name} in its environment; the console "
                                 f"decides {name} itself, so that the allow-list means what it says.")
    host = socket.gethostname()
    missing = _missing_program(programs_in(script, lang), host)
    if missing:
        return ExecutionResult(state="failed", exit_code=None, output="", truncated=False, reason=missing)

    secrets = [s for s in secrets if s]
    with tempfile.TemporaryDirectory(prefix="command-run-", ignore_cleanup_errors=True) as root:
        home, work = _prepare(root, isolation)
        given = {name: str(value) for name, value in env.items()}
        # PSQLRC and PGSYSCONFDIR: psql reads no startup file even when a script forgets -X.
        child_env = {"LANG": "C.UTF-8", **given, "PATH": SAFE_PATH, "HOME": home, "TMPDIR": "/tmp",
                     "PSQLRC": "/dev/null", "PGSYSCONFDIR": home}
        if lang == languages.SQL:
            assert dsn is not None
            plain_dsn, password = split_dsn(dsn)
            if password:
                child_env["PGPASSWORD"] = password
                secrets += [password, dsn]
            child_env.setdefault("PGCONNECT_TIMEOUT", "10")
            child_env.setdefault("PGAPPNAME", "incident-console")
            path = _script_file(root, "script.sql", script, isolation, readable=False)
            psql = shutil.which("psql", path=SAFE_PATH) or "psql"
            argv = [psql, "-X", "-w", "-v", "ON_ERROR_STOP=1", "-d", plain_dsn, "-f", "-"]
            stdin = open(path, "rb")  # noqa: SIM115 - closed below, after the child has it
        else:
            # From a file, not "-c script": the process list shows every user the command line.
            path = _script_file(root, "script.sh", script, isolation, readable=True)
            argv = ["/bin/bash", "--noprofile", "--norc", path]
            stdin = subprocess.DEVNULL
        if isolation.sandbox:
            argv = [isolation.sandbox, *bwrap_args(root, work), "--", *argv]
        try:
            proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    env=child_env, cwd=work, start_new_session=True, close_fds=True,
                                    umask=0o077, **isolation.popen_user())
        finally:
            if stdin is not subprocess.DEVNULL:
                stdin.close()
        redactor = Redactor(secrets)
        sink = _Output(on_output, output_cap, redactor)
        state = _follow(proc, sink, timeout=timeout, on_heartbeat=on_heartbeat, should_cancel=should_cancel,
                        flush_interval=flush_interval, heartbeat_interval=heartbeat_interval)
    result = _result(state, proc.returncode, sink, timeout=timeout, host=host)
    # The reason may quote what the command printed (a "not found" line): it is redacted like the output.
    return dataclasses.replace(result, reason=redact(result.reason, secrets))


# Set by the console for every command; a target may not set them (see run()).
_CONSOLE_SETS = frozenset({"TMPDIR", "PSQLRC", "PGSYSCONFDIR"})


def _prepare(root: str, isolation: Isolation) -> tuple[str, str]:
    """The run's folder: HOME, empty and read-only (no ~/.curlrc, ~/.psqlrc or ~/.ssh/config can be
    written for an allowed program to read), and a work folder the command may write, its working directory."""
    os.chmod(root, 0o711)  # the run user may pass through, not list
    home, work = os.path.join(root, "home"), os.path.join(root, "work")
    os.mkdir(home, 0o555)
    os.chmod(home, 0o555)
    os.mkdir(work, 0o700)
    if isolation.separate_user:
        os.chown(work, isolation.uid, isolation.gid)
    return home, work


def _script_file(root: str, name: str, script: str, isolation: Isolation, *, readable: bool) -> str:
    path = os.path.join(root, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(script)
    if readable and isolation.separate_user:  # bash, started as the run user, reads it
        os.chown(path, -1, isolation.gid)
        os.chmod(path, 0o440)
    else:
        os.chmod(path, 0o400)
    return path


def _missing_program(programs: list[str], host: str) -> str | None:
    for program in programs:
        if program in BASH_BUILTINS:
            continue
        if "/" in program:
            found = os.path.isfile(program) and os.access(program, os.X_OK)
        else:
            found = shutil.which(program, path=SAFE_PATH) is not None
        if not found:
            return f"{program}: not found on worker host {host}"
    return None


def _follow(proc: subprocess.Popen, sink: _Output, *, timeout: float, on_heartbeat: Callable[[], None],
            should_cancel: Callable[[], bool], flush_interval: float,
            heartbeat_interval: float) -> str | None:
    """Read the output until the child and all it started are gone; "timed_out", "cancelled" or None."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with contextlib.suppress(OSError, AttributeError):
        # A bigger pipe means fewer wake-ups when a command floods its output (the default is 64 KiB).
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, READ_SIZE)
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    pgid = proc.pid  # start_new_session: the child leads its own group
    start = time.monotonic()
    deadline = start + timeout
    last_flush = last_beat = last_cancel = start
    stopped: str | None = None
    term_at: float | None = None
    kill_at: float | None = None
    exited_at: float | None = None
    eof = False
    on_heartbeat()
    try:
        while True:
            now = time.monotonic()
            running = stopped is None and exited_at is None
            wait = min(0.1, max(0.0, last_flush + flush_interval - now),
                       max(0.0, last_beat + heartbeat_interval - now),
                       max(0.0, deadline - now) if running else 0.1)
            if not eof:
                if poller.poll(wait * 1000):
                    try:
                        data = os.read(fd, READ_SIZE)
                    except BlockingIOError:
                        data = None
                    if data == b"":
                        eof = True
                    elif data:
                        sink.feed(data)
            else:
                time.sleep(min(wait, 0.05))
            now = time.monotonic()
            if proc.poll() is not None and exited_at is None:
                exited_at = now
            if now - last_flush >= flush_interval:
                sink.flush()
                last_flush = now
            if now - last_beat >= heartbeat_interval:
                on_heartbeat()
                last_beat = now
            if stopped is None and exited_at is None:
                if now >= deadline:
                    stopped = "timed_out"
                elif now - last_cancel >= CANCEL_POLL:
                    last_cancel = now
                    if should_cancel():
                        stopped = "cancelled"
            wants_stop = stopped is not None or (exited_at is not None and now - exited_at >= LEFTOVER_GRACE)
            if wants_stop and term_at is None:
                _signal_group(pgid, signal.SIGTERM)
                term_at = now
            if term_at is not None and kill_at is None and now - term_at >= KILL_GRACE:
                _signal_group(pgid, signal.SIGKILL)
                kill_at = now
            if eof and exited_at is not None:
                break
            if kill_at is not None and now - kill_at >= 1.0 and exited_at is not None:
                break  # something outside the group still holds the pipe: stop listening to it
    finally:
        if proc.poll() is None or _group_alive(pgid, proc):
            _stop_group(pgid, proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        proc.stdout.close()
    sink.finish()
    return stopped


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int, proc: subprocess.Popen) -> bool:
    """Whether any process of the group is still alive (zombies waiting for a parent do not count)."""
    proc.poll()
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for p in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, OSError):
            if p.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(p.pid) == pgid:
                return True
    return False


def _stop_group(pgid: int, proc: subprocess.Popen) -> None:
    _signal_group(pgid, signal.SIGTERM)
    end = time.monotonic() + KILL_GRACE
    while time.monotonic() < end:
        if not _group_alive(pgid, proc):
            return
        time.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)
    end = time.monotonic() + 1.0
    while time.monotonic() < end and _group_alive(pgid, proc):
        time.sleep(0.02)


_NOT_FOUND = re.compile(
    r"(?m)^(?:\S+: )?(?:line \d+: )?([^\s:]+): (?:command not found|No such file or directory)"
)


def _result(stopped: str | None, returncode: int | None, sink: _Output, *, timeout: float,
            host: str) -> ExecutionResult:
    output, truncated = sink.text, sink.truncated
    if stopped == "timed_out":
        return ExecutionResult("timed_out", None, output, truncated,
                               f"timed out after {timeout:g} s; every process it started was stopped")
    if stopped == "cancelled":
        return ExecutionResult("cancelled", None, output, truncated,
                               "cancelled on request; every process it started was stopped")
    code = returncode if returncode is not None and returncode >= 0 else 128 - (returncode or 0)
    if code == 0:
        return ExecutionResult("succeeded", 0, output, truncated, "exited with status 0")
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
        return ExecutionResult("failed", code, output, truncated, f"killed by {name}")
    if code == 127:
        tail = sink.raw_tail.decode("utf-8", errors="replace")
        found = _NOT_FOUND.findall(tail)
        if found:
            reason = f"{found[-1]}: not found on worker host {host}"
            return ExecutionResult("failed", code, output, truncated, reason)
    return ExecutionResult("failed", code, output, truncated, f"exited with status {code}")
