"""How a command really runs: allow-list checks, redaction, and real runs in a process group (no database)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incidents import execution
from incidents.execution import (
    CommandRefused,
    ExecutionResult,
    Redactor,
    check_allowed,
    programs_in,
    redact,
    run,
    runner,
    split_dsn,
)
from runbooks.commandtext import ParameterError, render_script

# --- what a script runs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "programs"),
    [
        ("kubectl get pods | grep api | wc -l", ["kubectl", "grep", "wc"]),
        ("uptime && df -h || free -m; hostname", ["uptime", "df", "free", "hostname"]),
        ("(cd /tmp && ls) ; { date; }", ["cd", "ls", "date"]),
        ("echo $(whoami) `id -u` $(echo $(hostname))", ["whoami", "id", "hostname", "echo"]),
        ("diff <(kubectl get cm a -o yaml) <(kubectl get cm b -o yaml)", ["kubectl", "diff"]),
        ("X=$(date) curl -s https://example.com", ["date", "curl"]),
        ("sudo -u postgres -n psql -X -c 'SELECT 1'", ["sudo", "psql"]),
        ("kubectl get pods -o name | xargs -n1 -P4 kubectl delete", ["kubectl", "xargs"]),
        ("xargs -I{} kubectl logs {} < pods.txt", ["xargs", "kubectl"]),
        ("env -i FOO=1 timeout -s KILL 5 nice -n 10 curl -s x", ["env", "timeout", "nice", "curl"]),
        ("watch -n 5 'kubectl get pods | grep api'", ["watch", "kubectl", "grep"]),
        ("watch -x kubectl top pods", ["watch", "kubectl"]),
        ("bash -c 'uptime; df -h'", ["bash", "uptime", "df"]),
        ("find /var/log -name '*.gz' -mtime +7 -exec rm {} \\;", ["find", "rm"]),
        ("command -v kubectl", ["command"]),
        ("for ns in a b; do kubectl -n $ns get pods; done", ["kubectl"]),
        ("if curl -sf x; then echo up; else echo down; fi", ["curl", "echo"]),
        ("psql -X <<'SQL'\nSELECT 1;\nSQL", ["psql"]),
        ("cat <<EOF\nhello ${USER}\nEOF", ["cat"]),
        ("kubectl get pods  # $(rm -rf /) is only a comment", ["kubectl"]),
        ("kubectl get pods -o name | while read -r pod; do kubectl describe $pod; done", ["kubectl", "read"]),
    ],
)
def test_it_finds_every_program_a_script_runs(script, programs):
    assert programs_in(script) == programs


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("eval kubectl get pods", "'eval' is never run"),
        ("source ./env.sh", "'source' is never run"),
        (". ./env.sh", "'.' is never run"),
        ("exec kubectl get pods", "'exec' is never run"),
        ("setsid sleep 100", "process group"),
        ("kubectl() { rm -rf /; }; kubectl", "functions"),
        ("$TOOL get pods", "picks the program at run time"),
        ("sudo $TOOL", "expanded at run time"),
        ("timeout $T kubectl get pods", "expanded at run time"),
        ("PATH=/tmp/evil:$PATH kubectl get pods", "setting PATH"),
        ("export PATH=/tmp", "setting PATH"),
        ("LD_PRELOAD=/tmp/x.so ls", "setting LD_PRELOAD"),
        ("env LD_PRELOAD=/tmp/x.so ls", "setting LD_PRELOAD"),
        ("echo ${X:-$(rm -rf /)}", "can run code"),
        ("echo $'\\x41'", "$'…'"),
        ("echo $((1 + 2))", "arithmetic"),
        ("((i++))", "arithmetic"),
        ("cat <<EOF\n$(rm -rf /)\nEOF", "here-document"),
        ("echo hi > /dev/tcp/203.0.113.1/80", "/dev/tcp"),
        ("sudo -s", "option '-s'"),
        ("env -S 'rm -rf /'", "option '-S'"),
        ("printf -v PATH /tmp", "printf -v"),
        ("set -k", "set -k"),
        ("psql -c '\\! rm -rf /'", "meta-command '\\!'"),
        ("echo 'SELECT 1' | psql", "psql reading SQL"),
        ("psql -f /tmp/x.sql", "psql -f"),
        ("echo '\\! id' | { psql; }", "psql reading SQL"),
        ("bash -c psql < commands.sql", "psql reading SQL"),
        ("read PATH <<< /tmp/evil", "setting PATH"),
        ("xargs -I{} sh -c 'kubectl delete {}'", "pasted into its code"),
        ("case $x in a) ls;; esac", "case statement"),
        ("echo 'unterminated", "could not read"),
    ],
)
def test_it_refuses_what_it_cannot_check(script, reason):
    with pytest.raises(CommandRefused) as caught:
        programs_in(script)
    assert reason in str(caught.value)


def test_the_allow_list_names_the_first_program_not_on_it():
    with pytest.raises(CommandRefused, match="'rm' is not on the allow-list for target 'prod-bastion'"):
        check_allowed("kubectl get pods && rm -rf /tmp/x", {"kubectl"}, "bash", target_name="prod-bastion")


def test_harmless_builtins_need_no_listing_but_wrapped_programs_do():
    check_allowed("set -e; echo start; sleep 1; test -f x && echo yes; cd /tmp; pwd", set(), "bash",
                  target_name="t")
    with pytest.raises(CommandRefused, match="'sudo'"):
        check_allowed("sudo kubectl get pods", {"kubectl"}, "bash", target_name="t")
    with pytest.raises(CommandRefused, match="'kubectl'"):
        check_allowed("timeout 5 kubectl get pods", {"timeout"}, "bash", target_name="t")
    with pytest.raises(CommandRefused, match="'rm'"):
        check_allowed("kubectl get pods -o name | xargs rm", {"kubectl", "xargs"}, "bash", target_name="t")


def test_a_program_by_path_must_be_allowed_by_that_path():
    with pytest.raises(CommandRefused, match="call it by that name"):
        check_allowed("/tmp/kubectl get pods", {"kubectl"}, "bash", target_name="t")
    check_allowed("/usr/bin/kubectl get pods", {"/usr/bin/kubectl"}, "bash", target_name="t")


def test_sql_runs_through_psql_and_its_meta_commands_are_checked():
    assert programs_in("SELECT 1;\n\\x\n\\dt+ public.*", "sql") == ["psql"]
    with pytest.raises(CommandRefused, match="not on the allow-list"):
        check_allowed("SELECT 1", {"kubectl"}, "sql", target_name="t")
    refused = ["\\! rm -rf /", "SELECT 1 \\g |sh", "\\copy t to program 'sh'", "COPY t TO PROGRAM 'curl x'",
               "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS 'x'"]
    for script in refused:
        with pytest.raises(CommandRefused):
            programs_in(script, "sql")
    assert programs_in("SELECT '\\! not a command'", "sql") == ["psql"]


def test_other_languages_are_not_run():
    with pytest.raises(CommandRefused, match="python blocks"):
        programs_in("import os", "python")


def test_a_dsn_password_moves_out_of_the_command_line():
    assert split_dsn("postgresql://ops:s%40cret@db:5432/app?sslmode=require") == (
        "postgresql://ops@db:5432/app?sslmode=require", "s@cret")
    assert split_dsn("host=db user=ops password='it\\'s here' dbname=app") == ("host=db user=ops dbname=app",
                                                                            "it's here")
    plain, password = split_dsn("host=db user=ops password=hunter2 dbname=app")
    assert password == "hunter2" and "hunter2" not in plain
    assert split_dsn("postgresql://db/app") == ("postgresql://db/app", None)


# --- redaction --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("connecting to postgres://app:pa55word@db:5432/app", "pa55word", "postgres://app:***@db:5432/app"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", "eyJhbGci", "Authorization: Bearer ***"),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNz' x", "dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("key id AKIAIOSFODNN7EXAMPLE in use", "IOSFODNN7EXAMPLE", "AKIA***"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI",
         "aws_secret_access_key = ***"),
        ("PGPASSWORD=hunter2 psql", "hunter2", "PGPASSWORD=***"),
        ("passwd: hunter2", "hunter2", "passwd: ***"),
        ("token=abc123&user=x", "abc123", "token=***&user=x"),
        ('{"client_secret": "s3cr3t value", "id": 1}', "s3cr3t", '"client_secret": "***"'),
        ("mysql --password hunter2 -h db", "hunter2", "--password ***"),
        ("ALTER USER app WITH PASSWORD 'hunter2'", "hunter2", "PASSWORD '***'"),
    ],
)
def test_it_redacts_common_secret_shapes(text, hidden, kept):
    out = redact(text)
    assert hidden not in out
    assert kept in out


def test_it_redacts_given_secrets_and_leaves_ordinary_output_alone():
    out = redact("user=ops value=Xq9-tr0ub4dor status=ok PWD=/srv", secrets=["Xq9-tr0ub4dor", "ok", ""])
    assert out == "user=ops value=*** status=ok PWD=/srv"


def test_a_private_key_block_is_hidden_line_by_line():
    text = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\nxyz==\n-----END RSA PRIVATE KEY-----\ndone\n"
    out = redact(text)
    assert "MIIEabc" not in out and "xyz==" not in out
    assert out.endswith("-----END RSA PRIVATE KEY-----\ndone\n")


def test_a_secret_split_across_chunks_is_still_redacted():
    redactor = Redactor(["correct-horse-battery"])
    out = redactor.feed("line one\nthe password is correct-hor")
    assert out == "line one\n"  # the partial line waits for the rest
    out += redactor.feed("se-battery, ok\nAuthorization: Bearer abc")
    out += redactor.feed("def\n")
    out += redactor.flush()
    assert out == "line one\nthe password is ***, ok\nAuthorization: Bearer ***\n"


def test_a_long_line_is_released_in_pieces_without_cutting_a_secret():
    redactor = Redactor(["0123456789abcdef"], max_line=1000, overlap=100)
    out = ""
    for _ in range(50):
        out += redactor.feed("x" * 95 + "01234567")
        out += redactor.feed("89abcdef")
    assert redactor.pending < 2000  # released as it goes, not held until the end of the line
    out += redactor.flush()
    assert "0123456789abcdef" not in out
    assert out.count("***") == 50


# --- running ----------------------------------------------------------------------------------------------


class Recorder:
    """The callbacks run() needs, recording what they saw."""

    def __init__(self, cancel_after: float | None = None) -> None:
        self.chunks: list[str] = []
        self.beats = 0
        self.started = time.monotonic()
        self.cancel_after = cancel_after
        self.peak_rss = psutil.Process().memory_info().rss

    def output(self, chunk: str) -> None:
        self.chunks.append(chunk)

    def heartbeat(self) -> None:
        self.beats += 1
        self.peak_rss = max(self.peak_rss, psutil.Process().memory_info().rss)

    def should_cancel(self) -> bool:
        return self.cancel_after is not None and time.monotonic() - self.started > self.cancel_after


def run_bash(script: str, allowed=(), recorder: Recorder | None = None, **overrides) -> ExecutionResult:
    recorder = recorder or Recorder()
    options = {
        "language": "bash", "env": {}, "timeout": 10, "output_cap": 64 * 1024, "on_output": recorder.output,
        "on_heartbeat": recorder.heartbeat, "should_cancel": recorder.should_cancel, "flush_interval": 0.5,
        "heartbeat_interval": 2.0, "allowed_programs": set(allowed), "target_name": "test-host",
        "isolation": execution.Isolation.same_user("the runner's own tests"),
    }
    options.update(overrides)
    return run(script, **options)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_successful_command_streams_its_output():
    recorder = Recorder()
    result = run_bash("echo hello; echo oops >&2; uname -s", {"uname"}, recorder)
    assert result.state == "succeeded" and result.exit_code == 0
    assert result.output == "hello\noops\nLinux\n"
    assert "".join(recorder.chunks) == result.output
    assert recorder.beats >= 1


def test_a_failing_command_reports_its_exit_status():
    result = run_bash("echo before; exit 3")
    assert (result.state, result.exit_code, result.output) == ("failed", 3, "before\n")
    assert result.reason == "exited with status 3"


def test_a_missing_program_is_named_with_the_host_before_anything_starts():
    result = run_bash("kubectl-nonexistent get pods", {"kubectl-nonexistent"})
    assert result.state == "failed" and result.exit_code is None
    assert result.reason == f"kubectl-nonexistent: not found on worker host {socket.gethostname()}"


def test_a_program_missing_at_run_time_is_recognised_from_the_shell(monkeypatch):
    monkeypatch.setattr(runner, "_missing_program", lambda programs, host: None)
    result = run_bash("kubectl-nonexistent get pods", {"kubectl-nonexistent"})
    assert result.exit_code == 127
    assert result.reason == f"kubectl-nonexistent: not found on worker host {socket.gethostname()}"


def test_the_allow_list_is_checked_before_anything_starts(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(CommandRefused, match="'rm' is not on the allow-list for target 'test-host'"):
        run_bash(f"touch {marker}; rm -f {marker}", {"touch"})
    assert not marker.exists()


def test_the_environment_is_scrubbed(monkeypatch):
    monkeypatch.setenv("WORKER_SECRET", "leaked-value")
    result = run_bash("env", {"env"}, env={"REGION": "eu-1"})
    names = {line.split("=", 1)[0] for line in result.output.splitlines()}
    assert names <= {"PATH", "HOME", "LANG", "REGION", "PWD", "SHLVL", "_", "TMPDIR", "PSQLRC", "PGSYSCONFDIR"}
    assert "REGION=eu-1" in result.output and "leaked-value" not in result.output
    assert f"PATH={execution.SAFE_PATH}" in result.output


def test_a_target_may_not_set_path():
    with pytest.raises(CommandRefused, match="sets PATH"):
        run_bash("echo hi", env={"PATH": "/tmp"})


def test_output_is_redacted_on_its_way_out():
    result = run_bash("echo 'db at postgres://app:pa55@db/app with key Xq9-tr0ub4dor'",
                      secrets=["Xq9-tr0ub4dor"])
    assert result.output == "db at postgres://app:***@db/app with key ***\n"


def test_a_timeout_stops_the_whole_process_group():
    result = run_bash('sleep 300 & echo "child $!"; sleep 300', {"sleep"}, timeout=1)
    assert result.state == "timed_out" and result.exit_code is None  # not after the 300 s the script asked for
    pid = int(re.search(r"child (\d+)", result.output).group(1))
    assert gone(pid)


def test_background_children_do_not_outlive_the_script():
    result = run_bash('sleep 300 > /dev/null 2>&1 & echo "child $!"', {"sleep"})
    assert result.state == "succeeded"
    assert gone(int(re.search(r"child (\d+)", result.output).group(1)))


def test_cancel_stops_the_run():
    result = run_bash('sleep 300 & echo "child $!"; wait', {"sleep", "wait"}, Recorder(cancel_after=0.3))
    assert result.state == "cancelled"
    assert gone(int(re.search(r"child (\d+)", result.output).group(1)))


def test_output_is_streamed_in_several_chunks():
    recorder = Recorder()
    result = run_bash("for i in 1 2 3 4 5 6 7 8 9 10; do echo tick $i; sleep 0.2; done", {"sleep"}, recorder,
                      flush_interval=0.3)
    assert result.state == "succeeded"
    assert len(recorder.chunks) > 1
    assert "".join(recorder.chunks) == "".join(f"tick {i}\n" for i in range(1, 11))


def test_a_flood_of_output_is_capped_with_flat_memory():
    cap = 100_000
    recorder = Recorder()
    idle = psutil.Process().memory_info().rss
    result = run_bash("yes | head -c 200000000", {"yes", "head"}, recorder, output_cap=cap,
                      heartbeat_interval=0.05, timeout=60)
    marker = re.search(r"\n\[output truncated: cap of 100000 bytes reached; (\d+) more bytes discarded\]\n$",
                       result.output)
    assert result.truncated and marker
    assert int(marker.group(1)) > 199_000_000
    assert len(result.output) <= cap + len(marker.group(0))
    assert result.output.count("[output truncated") == 1
    assert "".join(recorder.chunks) == result.output
    assert max(recorder.peak_rss, psutil.Process().memory_info().rss) - idle < 100 * 1024 * 1024


def test_sql_needs_a_database():
    with pytest.raises(CommandRefused, match="this target has no SQL database configured"):
        run_bash("SELECT 1", {"psql"}, language="sql", dsn=None)


@pytest.mark.skipif(shutil.which("psql", path=execution.SAFE_PATH) is None, reason="psql is not installed")
def test_sql_runs_through_psql_without_showing_the_password():
    # Port 1 refuses the connection at once: enough to see psql run and its error come back redacted.
    result = run_bash("SELECT 1", {"psql"}, language="sql", dsn="postgresql://ops:hunter2@127.0.0.1:1/app",
                      secrets=["postgresql://ops:hunter2@127.0.0.1:1/app"])
    assert result.state == "failed" and result.exit_code == 2
    assert "hunter2" not in result.output
    assert "127.0.0.1" in result.output


# --- injection, for real ----------------------------------------------------------------------------------

_MARKER = Path("/tmp") / f"incident-console-injection-{os.getpid()}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(max_size=30) | st.from_regex(r"[A-Za-z0-9._\-:/@=,+]{1,30}", fullmatch=True))
@example(value=f"$(touch {_MARKER})")
@example(value=f"`touch {_MARKER}`")
@example(value=f"x; touch {_MARKER}")
@example(value="a=b,c")
@example(value="user@host:/path")
def test_a_rendered_value_is_printed_never_run(value):
    try:
        script = render_script("echo <value>", {"value": value}, "bash")
    except ParameterError:
        assert not _MARKER.exists()
        return
    result = run_bash(script, flush_interval=0.05)
    assert result.state == "succeeded"
    assert result.output == value + "\n"
    assert not _MARKER.exists()
