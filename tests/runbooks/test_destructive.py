"""Destructive is judged by what a command can do: writes anywhere, writing programs, writing verbs, SQL."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from runbooks.destructive import is_destructive

NAMESPACES = ["payments", "default", "web"]
PODS = ["api-7f9c", "worker-2", "queue-0"]
FILES = ["/var/log/app.log", "app.log", "./status.txt", "/srv/app/config.yaml"]
PATHS = ["/tmp/../etc/passwd", "$HOME/.bashrc", "out.txt", "./x", "../y", "/tmp/out", "/etc/cron.d/job",
         "~/.ssh/authorized_keys", '"$OUT"', "/var/tmp/report.csv"]
TABLES = ["orders", "accounts", "public.sessions"]

READING = [
    "kubectl get pods -n {ns}", "kubectl describe pod {pod} -n {ns}", "kubectl logs {pod} --since=10m",
    "kubectl top pods -n {ns}", "kubectl rollout status deploy/api -n {ns}", "kubectl get pods -l app=drain -o wide",
    "grep -i error {file}", "tail -n 50 {file}", "head -5 {file}", "cat {file}", "wc -l {file}", "ls -l /srv",
    "df -h", "uptime", "free -m", "echo checking", "curl -s https://api.example.com/health",
    "curl -s -o /dev/null -w '%{{http_code}}' https://api.example.com/", "aws s3 ls s3://backups",
    "aws ec2 describe-instances --region eu-west-1", "psql -X -c 'SELECT count(*) FROM {table}'",
    "jq .status {file}", "sort {file}", "sed -n 1,5p {file}", "git log --oneline -5", "sleep 1", "date",
    "hostname", "grep restart {file} | tail -n 20", "kubectl get pods -o name | wc -l", "echo $(uptime)",
    "awk '$3 > 5 {{print $1}}' {file}", "find /var/log -name '*.gz' -mtime +7", "echo oops >&2",
    "kubectl get pods 2>&1 | grep -c Running", "ps aux | grep api > /dev/null",
]
WRITING = [
    "echo {word} > {path}", "echo {word} >> {path}", "date > {path}", "cat {file} | tee {path}",
    "cp {file} {path}", "mv {file} {path}", "curl -s -o {path} https://api.example.com/x",
    "curl -sSLo {path} https://api.example.com/x", "curl -sO https://api.example.com/x",
    "aws s3 cp {file} s3://backups/k", "aws s3 rm s3://backups/k", "aws s3 sync /srv s3://backups",
    "kubectl exec {pod} -n {ns} -- ls", "kubectl debug {pod} -it --image=busybox",
    "kubectl port-forward {pod} 8080:80", "kubectl delete pod {pod}", "kubectl scale deploy/api --replicas=2",
    "kubectl drain node-1", "kubectl cordon node-1", "psql -X -o {path} -c 'SELECT 1'",
    "psql -X -c \"COPY {table} TO '/tmp/x.csv'\"", "psql -X -c \"SELECT lo_export(1, '/tmp/x')\"",
    "psql -X -c 'DROP TABLE {table}'", "psql -X -c 'UPDATE {table} SET a = 1'",
    "psql -X -c 'CREATE INDEX i ON {table} (a)'", "sort -o {path} {file}", "sed -i s/a/b/ {file}",
    "touch {path}", "mkdir -p /srv/new", "find /var/log -name x -delete", "wget https://api.example.com/x",
    "tar -xf backup.tar", "{{ date; uptime; }} > {path}", "gzip {file}", "awk '{{print > \"out\"}}' {file}",
    "psql -X <<'SQL'\nDELETE FROM {table};\nSQL",
]
WRAPS = ["{c}", "sudo {c}", "timeout 5 {c}", "( {c} )", "{{ {c}; }}", "if true; then {c}; fi",
         "for i in 1 2; do {c}; done", "nice -n 5 {c}", "env A=1 {c}", "cd /srv && {c}", "bash -c '{c}'",
         "echo \"$({c})\""]
SEPARATORS = [" ; ", " && ", " || ", "\n"]


def fill(template: str, draw) -> str:
    return template.format(ns=draw(st.sampled_from(NAMESPACES)), pod=draw(st.sampled_from(PODS)),
                           file=draw(st.sampled_from(FILES)), path=draw(st.sampled_from(PATHS)),
                           table=draw(st.sampled_from(TABLES)), word=draw(st.sampled_from(["ok", "1", "done"])))


@st.composite
def segment(draw, writes: bool) -> str:
    command = fill(draw(st.sampled_from(WRITING if writes else READING)), draw)
    wrap = draw(st.sampled_from(WRAPS))
    if ("'" in command and wrap.startswith("bash -c")) or ("\n" in command and wrap != "{c}"):
        wrap = "{c}"
    return wrap.format(c=command)


@st.composite
def script(draw) -> tuple[str, bool]:
    n = draw(st.integers(1, 4))
    kinds = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    parts = [draw(segment(writes)) for writes in kinds]
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + part
    return text, any(kinds)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script())
@example(("cd /tmp && echo x > ../etc/cron.d/job", True))
@example(("kubectl get pods -n payments | tee pods.txt", True))
def test_a_generated_script_is_destructive_exactly_when_some_part_of_it_writes(case):
    text, writes = case
    assert is_destructive(text, "bash") is writes, text


@pytest.mark.parametrize("text", [
    "echo x > /tmp/../etc/passwd", "echo x > $HOME/.profile", "cd /etc && echo x > hosts", "printf x >> notes.txt",
    "uptime &> uptime.log", "cp a b", "tee -a f < /dev/null", "curl -o f https://x", "aws s3 sync . s3://b",
    "kubectl exec -it api -- sh", "kubectl port-forward svc/db 5432", "psql -X -o out.txt -c 'SELECT 1'",
    "psql -X -c \"COPY t TO '/tmp/t.csv'\"",
])
def test_writes_anywhere_are_destructive(text):
    assert is_destructive(text, "bash")


@pytest.mark.parametrize(("text", "destructive"), [
    ("COPY orders TO '/tmp/orders.csv'", True), ("COPY (SELECT 1) TO STDOUT WITH CSV", False),
    ("SELECT lo_export(16384, '/tmp/x')", True), ("SELECT * INTO archive FROM orders", True),
    ("\\o /tmp/out.txt\nSELECT 1", True), ("\\copy orders to 'x.csv'", True), ("SELECT nextval('s')", True),
    ("CREATE TABLE t (a int)", True), ("SELECT count(*) FROM orders", False), ("\\x\nSELECT 1", False),
])
def test_sql_that_writes_a_file_or_changes_data_is_destructive(text, destructive):
    assert is_destructive(text, "sql") is destructive


# --- the fast path for plain commands agrees with the parser ----------------------------------------------

_PLAIN_WORDS = ["kubectl", "get", "delete", "pods", "logs", "exec", "-n", "payments", "--since=10m", "aws", "s3",
                "ls", "cp", "rm", "-rf", "/tmp/x", "curl", "-s", "-o", "/dev/null", "-O", "https://a.example/x",
                "grep", "restart", "app.log", "tail", "-f", "sudo", "-u", "root", "timeout", "5", "env", "A=1",
                "bash", "sh", "-c", "psql", "-X", "git", "status", "push", "systemctl", "stop", "docker", "ps",
                "xargs", "watch", "ssh", "host-1", "find", "-delete", "-exec", "tar", "-tf", "b.tar", "sed",
                "-i", "s/a/b/", "date", "hostname", "myscript", "drain", "node-1", ".", ":", "%1", "a,b", "x@y"]


@st.composite
def plain_script(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        words = draw(st.lists(st.sampled_from(_PLAIN_WORDS), min_size=0, max_size=6))
        lines.append(draw(st.sampled_from(["", "  ", "\t"])) + draw(st.sampled_from([" ", "  ", "\t"])).join(words))
    return "\n".join(lines)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_script())
@example("kubectl get pods -n payments")
@example("grep restart app.log\nkubectl drain node-1")
@example("bash -c rm")
def test_a_plain_command_is_judged_as_the_shell_parser_judges_it(text):
    from runbooks import destructive

    plain = destructive._plain_judgement(text, 0)
    if plain is None:
        return
    parsed = destructive._parsed_judgement(text, 0)
    assert plain[1] is parsed[1], text
    if not parsed[1]:
        assert plain[0] == parsed[0], text


def test_shell_text_that_is_not_plain_is_left_to_the_parser():
    from runbooks.destructive import _plain_judgement

    for text in ("ls > out", "ls | tee f", "echo $(rm x)", "A=1 rm x", "time rm x", "for i in 1; do ls; done",
                 "ls # rm", "echo 'rm'", "cat <pod>", "ls\\\nrm", "ls; rm x"):
        assert _plain_judgement(text, 0) is None, text
