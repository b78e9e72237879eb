"""Placeholders, destructive intent and safe rendering of runbook commands (pure text: no database)."""

from __future__ import annotations

import bashlex
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from runbooks.commandtext import ParameterError, find_parameters, render_script
from runbooks.destructive import is_destructive
from runbooks.scanning import scan_bash, scan_sql

# --- parameter discovery ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kubectl rollout restart deploy/<deployment>", ["deployment"]),
        ("kubectl logs <pod-name> -n <namespace>", ["pod-name", "namespace"]),
        ("curl https://<host.name>/health", ["host.name"]),
        ('systemctl restart "${SERVICE}"', ["SERVICE"]),
        ("echo ${SERVICE} ${REGION}", ["SERVICE", "REGION"]),
        ("helm rollback {{release}} {{ revision }}", ["release", "revision"]),
        ("echo {{ svc.name }}", ["svc.name"]),
    ],
)
def test_it_finds_parameters_in_each_syntax(text, expected):
    assert find_parameters(text) == expected


def test_parameters_keep_first_appearance_order_and_appear_once():
    text = "kubectl -n <ns> get pod <pod> && kubectl -n {{ ns }} logs <pod> --since ${SINCE}"
    assert find_parameters(text) == ["ns", "pod", "SINCE"]


@pytest.mark.parametrize(
    "text",
    [
        "sort < input.txt > output.txt",
        "cat <<EOF>out.txt\nhello\nEOF",
        "cat <<<hello",
        "echo $SERVICE $HOME",
        "echo ${HOME} ${PATH} ${SERVICE:-api} ${#LIST}",
        "echo <1st> <-x> <>",
        "<b>bold</b> and <br> and <a href='x'>link</a>",
        "docker ps --format '{{.Names}}' && kubectl get pods -o go-template='{{ .metadata.name }}'",
        "echo ${{ secrets.TOKEN }}",
        "mail -s hi someone <ops@example.com>",
        "make 2>&1 | tee build.log",
    ],
)
def test_it_ignores_redirections_heredocs_html_and_other_templates(text):
    assert find_parameters(text) == []


def test_a_name_closed_as_html_is_not_a_parameter_but_other_names_still_are():
    assert find_parameters("<p>restart <service></p>") == ["service"]


# --- destructive intent -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("kubectl delete pod api-1", "bash"),
        ("kubectl rollout restart deploy/<deployment>", "bash"),
        ("kubectl rollout undo deploy/api", "bash"),
        ("kubectl drain node-1 --ignore-daemonsets", "bash"),
        ("kubectl cordon node-1", "bash"),
        ("kubectl scale deploy/api --replicas=0", "bash"),
        ("kubectl set image deploy/api api=registry/api:2", "bash"),
        ("kill -9 1234", "bash"),
        ("pkill -f worker", "bash"),
        ("sudo reboot", "bash"),
        ("shutdown -h now", "bash"),
        ("rm -rf /var/cache/app", "bash"),
        ("truncate -s 0 /var/log/app.log", "bash"),
        ("aws ec2 terminate-instances --instance-ids i-0abc", "bash"),
        ("aws s3 rm s3://bucket/key", "bash"),
        ("helm rollback api 3", "bash"),
        ("helm uninstall api", "bash"),
        ("systemctl restart nginx", "bash"),
        ("sudo systemctl stop nginx", "bash"),
        ("systemctl start nginx", "bash"),
        ("curl -X DELETE https://api/items/1", "bash"),
        ("curl -XPOST https://api/items", "bash"),
        ("curl --request PUT https://api/items/1", "bash"),
        ("curl -sX PATCH https://api/items/1", "bash"),
        ("curl -d 'a=1' https://api/items", "bash"),
        ("redis-cli FLUSHALL", "bash"),
        ('psql -c "DROP TABLE sessions"', "bash"),
        ("echo 'DELETE FROM sessions' | psql", "bash"),
        ("grep -l restart *.conf | xargs rm", "bash"),
        ("sed -i 's/a/b/' /etc/app.conf", "bash"),
        ("echo 1 > /proc/sys/vm/drop_caches", "bash"),
        ("echo nameserver 1.1.1.1 > /etc/resolv.conf", "bash"),
        ("echo checking > /tmp/status.txt", "bash"),  # a write is a write, wherever it lands
        ("DROP TABLE sessions", "sql"),
        ("truncate sessions", "sql"),
        ("ALTER TABLE t ADD COLUMN c int", "sql"),
        ("DELETE FROM sessions WHERE created < now() - interval '1 day'", "sql"),
        ("update users set locked = true", "sql"),
        ("INSERT INTO audit VALUES (1)", "sql"),
        ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "sql"),
        ("SELECT pg_cancel_backend(123)", "sql"),
        ("VACUUM FULL orders", "sql"),
        ("Stop-Service -Name W3SVC", "powershell"),
        ("Remove-Item C:\\temp\\x", "powershell"),
    ],
)
def test_it_flags_destructive_commands(text, language):
    assert is_destructive(text, language)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("kubectl get pods", "bash"),
        ("kubectl -n prod get pods -l app=drain-worker", "bash"),
        ("kubectl describe deploy/restart-api", "bash"),
        ("kubectl logs deploy/api --since 10m | grep -i delete", "bash"),
        ("kubectl rollout status deploy/api", "bash"),
        ("df -h", "bash"),
        ("uptime", "bash"),
        ("free -m && uptime", "bash"),
        # A documented choice: the arguments of programs that only read and print are data.
        ("grep restart /var/log/syslog | tail -n 20", "bash"),
        ("sudo tail -n 100 /var/log/restart.log", "bash"),
        ("cat /tmp/undelete_docs.txt", "bash"),
        ("curl -s https://api/health", "bash"),
        ("for i in 1 2 3; do uptime; sleep 1; done", "bash"),
        ('psql -c "SELECT count(*) FROM orders"', "bash"),
        ("SELECT * FROM pg_stat_activity WHERE state = 'active'", "sql"),
        ("SELECT deleted_at FROM orders", "sql"),
        ("Get-Service W3SVC", "powershell"),
    ],
)
def test_it_leaves_read_only_commands_alone(text, language):
    assert not is_destructive(text, language)


def test_quoting_a_read_only_pipeline_into_a_shell_or_psql_is_still_destructive():
    assert is_destructive("grep DROP migrations.sql | psql", "bash")
    assert is_destructive("cat cleanup.sh | bash  # rm inside", "bash")


def test_unparseable_shell_is_judged_word_by_word():
    assert is_destructive("case $x in a) kubectl delete pod a;; esac", "bash")
    assert not is_destructive("case $x in a) kubectl get pods;; esac", "bash")


# --- rendering --------------------------------------------------------------------------------------------


def test_it_fills_each_syntax_with_a_plain_value():
    text = "kubectl -n {{ ns }} rollout restart deploy/<deployment> --context ${CTX}"
    rendered = render_script(text, {"ns": "prod", "deployment": "api", "CTX": "eu-1"}, "bash")
    assert rendered == "kubectl -n prod rollout restart deploy/api --context eu-1"


def test_values_inside_quotes_are_not_quoted_twice():
    rendered = render_script("""systemctl restart "${SERVICE}" && echo '<name>' x""",
                             {"SERVICE": "a=b", "name": "c,d"}, "bash")
    assert rendered == """systemctl restart "a=b" && echo 'c,d' x"""


def test_unquoted_values_that_a_shell_could_reinterpret_are_quoted():
    # "=" would be an assignment in command position, "," an extra word inside {a,<x>}.
    assert render_script("<cmd> --version", {"cmd": "PATH=/tmp"}, "bash") == "'PATH=/tmp' --version"
    assert render_script("echo {a,<x>}", {"x": "b,c"}, "bash") == "echo {a,'b,c'}"


def test_heredoc_bodies_and_comments_take_the_value_as_is():
    text = "cat <<EOF\nname=<name>\nEOF\necho <name>  # for <name>"
    assert render_script(text, {"name": "a=b"}, "bash") == "cat <<EOF\nname=a=b\nEOF\necho 'a=b'  # for a=b"


def test_missing_values_are_all_named():
    with pytest.raises(ParameterError) as caught:
        render_script("kubectl -n <ns> delete pod <pod> ${X}", {"X": "1"}, "bash")
    assert caught.value.names == ("ns", "pod")
    assert "'ns', 'pod'" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("api; rm -rf /", "not allowed"),
        ("$(touch /tmp/pwned)", "not allowed"),
        ("`id`", "not allowed"),
        ("a b", "space"),
        ("a'b", "not allowed"),
        ('a"b', "not allowed"),
        ("api\nrm -rf /", "not allowed"),
        ("*", "not allowed"),
        ("~root", "not allowed"),
        ("--all", "must not start with '-'"),
        ("", "empty"),
        ("x" * 201, "limit is 200"),
    ],
)
def test_unsafe_values_are_refused_naming_the_parameter(value, complaint):
    with pytest.raises(ParameterError) as caught:
        render_script("kubectl delete pod <pod>", {"pod": value}, "bash")
    assert caught.value.name == "pod"
    assert "'pod'" in str(caught.value)
    assert complaint in str(caught.value)


def test_sql_values_are_literals_in_strings_and_quoted_identifiers_outside():
    text = "SELECT * FROM <table> WHERE id = <id> AND email = '<email>' -- by <who>"
    values = {"table": "public.orders", "id": "42", "email": "a@example.com", "who": "ops"}
    assert render_script(text, values, "sql") == (
        "SELECT * FROM \"public\".\"orders\" WHERE id = 42 AND email = 'a@example.com' -- by ops"
    )


def test_sql_never_puts_a_value_in_as_bare_sql():
    assert render_script("SELECT <col> FROM t", {"col": "a=a"}, "sql") == 'SELECT "a=a" FROM t'
    with pytest.raises(ParameterError, match="'fn'"):
        render_script("DO $$ BEGIN PERFORM <fn>; END $$", {"fn": "x"}, "sql")
    with pytest.raises(ParameterError, match="not a valid SQL name"):
        render_script("SELECT * FROM <t>", {"t": "a..b"}, "sql")


# --- injection: the parsed command never changes ---------------------------------------------------------

TEMPLATES = [
    "echo <v>",
    "kubectl rollout restart deploy/<v> -n prod",
    'echo "${V}" done',
    "echo '<v>' && uptime",
    "grep {{ v }} /var/log/app.log | tail -n 5",
    "<v> --version",
    "echo $(echo <v>) `echo <v>`",
]
SENTINEL = "SENTINEL"


def _shape(script: str) -> list[tuple[str, str]]:
    """Every node of a bashlex parse that decides what runs: its kind, and the word as bash will see it."""
    shape: list[tuple[str, str]] = []

    def visit(node) -> None:
        parts = getattr(node, "parts", None) or []
        substituted = any(p.kind in ("commandsubstitution", "processsubstitution") for p in parts)
        # bashlex keeps a word holding $( ) as written, quotes and all; its inner command is compared instead.
        shape.append((node.kind, "" if substituted else getattr(node, "word", getattr(node, "op", ""))))
        for child in [*(getattr(node, "parts", None) or []), *(getattr(node, "list", None) or [])]:
            visit(child)
        if getattr(node, "command", None) is not None:
            visit(node.command)

    for tree in bashlex.parse(script):
        visit(tree)
    return shape


def _name(template: str) -> str:
    return "V" if "${V}" in template else "v"


safe_values = st.from_regex(r"[A-Za-z0-9._\-:/@=,+]{1,40}", fullmatch=True)
hostile_values = st.text(min_size=0, max_size=40) | st.sampled_from(
    ["a;id", "$(id)", "`id`", "a b", "a'b", 'a"b', "a\nid", "a|id", "a&&id", "${IFS}id", "a=b", "b,c", "x>y"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=st.sampled_from(TEMPLATES), value=safe_values | hostile_values)
@example(template="echo <v>", value="$(touch /tmp/x)")
@example(template='echo "${V}" done', value='"; id; "')
def test_a_value_never_changes_what_runs(template, value):
    name = _name(template)
    try:
        rendered = render_script(template, {name: value}, "bash")
    except ParameterError:
        return
    expected = [(kind, word.replace(SENTINEL, value)) for kind, word in _shape(
        render_script(template, {name: SENTINEL}, "bash"))]
    assert _shape(rendered) == expected


# --- scanners ---------------------------------------------------------------------------------------------


def test_bash_scanner_knows_quotes_substitutions_heredocs_and_comments():
    text = """a "b $(c 'X') d" 'X' $'X' `X` <<'EOF'\nX\nEOF\nX # X"""
    spots = [i for i, ch in enumerate(text) if ch == "X"]
    contexts = scan_bash(text, [(i, i + 1) for i in spots]).contexts
    expected = ["single", "single", "ansi", "word", "heredoc-literal", "word", "comment"]
    assert [contexts[i] for i in spots] == expected


def test_sql_scanner_finds_meta_commands_outside_strings():
    scan = scan_sql("SELECT '\\! not a command';\n\\! rm -rf /\n\\x\nSELECT 1;")
    assert [name for _, name in scan.meta_commands] == ["!", "x"]
    assert "rm" not in scan.code


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab <>${}'\"`()|;&#\\\n-=*/x")), max_size=60),
       language=st.sampled_from(["bash", "sql", "text"]))
def test_any_text_is_judged_and_rendered_without_crashing(text, language):
    assert isinstance(is_destructive(text, language), bool)
    names = find_parameters(text)
    try:
        render_script(text, dict.fromkeys(names, "v1"), language)
    except ParameterError as exc:
        assert exc.name in names  # only the $$-body refusal can get here, and it names the parameter
