"""Allowed programs cannot be turned into other programs: the per-program refusal table, applied."""

from __future__ import annotations

import pytest

from incidents.execution import CommandRefused, check_allowed, programs_in
from incidents.execution.programs import CODE_VARIABLES, PROGRAM_RULES, refusal_table_markdown, rules_for


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("kubectl --kubeconfig /tmp/k get pods", "kubectl --kubeconfig is not allowed"),
        ("kubectl --kubeconfig=/tmp/k get pods", "kubectl --kubeconfig is not allowed"),
        ("kubectl get pods --server https://evil.example", "kubectl --server"),
        ("KUBECONFIG=/tmp/k kubectl get pods", "setting KUBECONFIG"),
        ("export KUBECONFIG=/tmp/k; kubectl get pods", "setting KUBECONFIG"),
        ("env KUBECONFIG=/tmp/k kubectl get pods", "setting KUBECONFIG"),
        ("kubectl config set-credentials x --exec-command=/tmp/evil", "kubectl --exec-command"),
        ("kubectl config set users.x.exec.command /tmp/evil", "kubectl config set is not allowed"),
        ("kubectl kustomize . --enable-alpha-plugins", "--enable-alpha-plugins"),
        ("X=--kubeconfig=/tmp/k; kubectl $X get pods", "options chosen at run time"),
        ("kubectl --$OPT get pods", "options chosen at run time"),
        ("psql -c 'SELECT 1'", "psql without -X is not allowed"),
        ("PSQLRC=/tmp/rc psql -X -c 'SELECT 1'", "setting PSQLRC"),
        ("AWS_CONFIG_FILE=/tmp/c aws s3 ls", "setting AWS_CONFIG_FILE"),
        ("AWS_SHARED_CREDENTIALS_FILE=/tmp/c aws s3 ls", "setting AWS_SHARED_CREDENTIALS_FILE"),
        ("aws configure set credential_process /tmp/evil", "aws configure is not allowed"),
        ("PYTHONPATH=/tmp python3 -c 'import x'", "setting PYTHONPATH"),
        ("curl -K /tmp/cfg https://example.com", "curl -K is not allowed"),
        ("curl -sK /tmp/cfg https://example.com", "curl -K is not allowed"),
        ("curl --config /tmp/cfg https://example.com", "curl --config is not allowed"),
        ("curl --engine /tmp/x.so https://example.com", "curl --engine"),
        ("CURL_HOME=/tmp curl https://example.com", "setting CURL_HOME"),
        ("git -c core.sshCommand=/tmp/evil fetch", "git -c core.sshCommand=/tmp/evil is not allowed"),
        ("git -c alias.x=!sh x", "git -c alias.x=!sh is not allowed"),
        ("git --exec-path=/tmp log", "git --exec-path"),
        ("git config core.fsmonitor /tmp/evil", "git config is not allowed"),
        ("GIT_SSH_COMMAND=/tmp/evil git fetch", "setting GIT_SSH_COMMAND"),
        ("ssh -o ProxyCommand='sh -c id' host uptime", "ssh -o ProxyCommand=sh -c id is not allowed"),
        ("ssh -oProxyCommand=id host", "ssh -o ProxyCommand=id is not allowed"),
        ("ssh -o LocalCommand=id -o PermitLocalCommand=yes host", "ssh -o LocalCommand=id"),
        ("ssh -F /tmp/cfg host", "ssh -F is not allowed"),
        ("scp -S /tmp/evil a host:b", "scp -S is not allowed"),
        ("rsync -e /tmp/evil a host:b", "rsync -e is not allowed"),
        ("wget -e 'use_askpass=/tmp/x' https://example.com", "wget -e is not allowed"),
        ("helm upgrade x y --post-renderer /tmp/evil", "helm --post-renderer"),
        ("OPENSSL_CONF=/tmp/c curl https://example.com", "setting OPENSSL_CONF"),
        ("for KUBECONFIG in /tmp/k; do kubectl get pods; done", "setting KUBECONFIG"),
        ("read KUBECONFIG <<< /tmp/k", "setting KUBECONFIG"),
    ],
)
def test_options_and_variables_that_load_code_are_refused_with_a_reason(script, reason):
    with pytest.raises(CommandRefused) as caught:
        programs_in(script)
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    "script",
    [
        "kubectl get pods -n payments -o wide",
        "kubectl -n payments logs deploy/api --since=10m",
        "for pod in a b; do kubectl describe pod $pod; done",
        "kubectl config view --minify",
        "kubectl config current-context",
        "psql -X -c 'SELECT 1'",
        "psql -Xqt -c 'SELECT 1'",
        "psql --no-psqlrc -c 'SELECT 1'",
        "curl -s -o /dev/null -w '%{http_code}' https://example.com/-K",
        "git -c color.ui=never log --oneline -5",
        "git config --get remote.origin.url",
        "ssh -o ConnectTimeout=5 -o BatchMode=yes host uptime",
        "aws s3 ls s3://bucket --region eu-west-1",
        "REGION=eu-1 aws ec2 describe-instances --region $REGION",
    ],
)
def test_ordinary_uses_of_the_same_programs_still_pass(script):
    programs_in(script)


def test_the_target_allow_list_and_the_table_are_checked_together():
    check_allowed("kubectl get pods", {"kubectl"}, target_name="t")
    with pytest.raises(CommandRefused, match="--kubeconfig"):
        check_allowed("kubectl --kubeconfig /tmp/k get pods", {"kubectl"}, target_name="t")


def test_the_table_names_a_reason_for_every_row_and_is_readable_as_markdown():
    assert all(rule.reason and rule.refuses for rule in PROGRAM_RULES)
    assert all(reason for reason in CODE_VARIABLES.values())
    table = refusal_table_markdown()
    for rule in PROGRAM_RULES:
        assert f"| `{rule.program}` | {rule.refuses} |" in table
    assert "| `KUBECONFIG` |" in table
    assert [r.program for r in rules_for(["/usr/bin/kubectl", "uptime"])] == ["kubectl"] * len(
        [r for r in PROGRAM_RULES if r.program == "kubectl"])
