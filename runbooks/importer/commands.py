"""What counts as a command a responder runs, and which language it is in.

How a code block is read (command, transcript, output...) is `runbooks.importer.blocks`. Inline code is a
command when it is complete and given as the thing to run: `kubectl get pods` after "Check the pods:" or
"run", or a command of three words or more anywhere in a sentence; `kill -9` (no PID), `podman pull` (no
image), `sc.exe config docker binpath=` (a value follows) are fragments; `max_connections` and
`context deadline exceeded` are not commands at all. Chat commands (`/incident`, `!ic page`) count when
introduced or at the end of a sentence. Prose after a colon ("Restart the pod: kubectl rollout restart ...")
is a command when it starts with a known program and carries shell-like arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from runbooks.importer.inline import CodeSpan, code_spans, collapse
from runbooks.importer.types import ImportedCommand

_PROGRAM_NAMES = """
    ab ansible ansible-playbook apt apt-get argocd awk aws az bash brew bundle cargo cat cd celery certbot
    chmod chown clickhouse-client composer consul cp crictl crontab ctr curl date dig dmesg docker
    docker-compose doctl dotnet du echo eksctl etcdctl export fdisk find flux fly free gcloud gh git go grep
    gunicorn gzip head helm heroku host htop http iostat ip iptables istioctl java jcmd jmap journalctl jq
    jstack k k9s kafka-topics kafka-consumer-groups kcat kill kubectl kubectx kubens less linkerd ln
    logrotate ls lsblk lsof make mc mkdir mongo mongosh mount mv mysql mysqladmin nc netstat nginx nohup
    node nomad npm npx nslookup openssl pg_ctl pg_dump pg_restore pgbench php pip pip3 pkill pm2 pnpm podman
    ps psql python python3 rabbitmqctl rails rake rclone redis-cli rg rm rsync ruby s3cmd salt scp screen
    sed service sh sleep sort sqlite3 ss ssh stern strace sudo supervisorctl systemctl tail tar tcpdump
    telnet terraform tmux top touch traceroute truncate uptime uwsgi vault velero vmstat watch wc wget xargs
    yarn yq zsh df w who whoami hostname id env printenv ulimit sysctl blkid fsck xfs_repair resize2fs
    growpart lvextend nft ufw firewall-cmd conntrack ethtool arp route nmap mtr ssh-keygen gpg base64
    sha256sum md5sum diff zcat zgrep unzip zip xz stat tee cut tr uniq printf timeout nice ionice taskset
    chroot ocm rosa knife chef-client rpm-ostree ostree skopeo buildah oc-mirror virtctl ceph rados rbd radosgw-admin
    gitlab-psql gitlab-ctl gitlab-rake gitlab-rails kubectl-apply-all.sh mysqlshow mariadb pg_basebackup
    wal-g pgbackrest patronictl redis-server memcached nodetool cqlsh sqlcmd bq gsutil gcloud az aws sam
    wevtutil wpr sc docker-signal invoke-webrequest powershell pwsh cmd netsh ipconfig tasklist taskkill
    choco winget dism sfc bcdedit reg regedit icacls robocopy xcopy certutil pwgen htpasswd ldapsearch dig
    vault consul nomad boundary packer waypoint tsh teleport argocd argo tkn kn istioctl cilium hubble
    perf ltrace gdb jps jstat cqlsh nodetool pg_isready pg_basebackup patronictl mongodump mongorestore
    mysqldump redis-server haproxy varnishadm minikube oc tkn skaffold kustomize sops packer pulumi cdk sam
    serverless gsutil bq firebase kubeadm kubelet containerd runc iotop nethogs sar pidstat free lscpu nproc
"""
PROGRAMS = frozenset(_PROGRAM_NAMES.split())
# Program names that are also everyday words ("service level objective", "find the owner"): in prose they
# only count with arguments a shell would read (a flag, a path, a pipe).
_WORDLIKE = """
    ab age bundle cat cd cdk cp cut date df diff du echo env export file find fly free go head host http id ip
    java k kill less ln ls make mc mount mv nice node oc perf php printf rails rake rm route ruby salt sam sar
    screen service sleep sort sops stat step tail tee test time timeout top touch tr uniq w watch who zip
"""
WORDLIKE = frozenset(_WORDLIKE.split())
_SQL_NAMES = (
    "SELECT INSERT UPDATE DELETE ALTER CREATE DROP TRUNCATE VACUUM ANALYZE REINDEX EXPLAIN SHOW SET WITH"
)
SQL_WORDS = frozenset((_SQL_NAMES + " GRANT REVOKE BEGIN COMMIT ROLLBACK KILL CALL").split())
_POWERSHELL = re.compile(r"^(?:[A-Z][a-z]+-[A-Z][A-Za-z]+|\$env:|\$[A-Za-z_]+\s*=)")
_PATH = re.compile(r"^(?:\./|\.\./|~/|/)[\w.@/-]+$")
_SCRIPT = re.compile(r"\.(?:sh|py|ps1|rb|pl|bash)$")
_SHELLISH = re.compile(r"(?:^|\s)(?:-{1,2}[A-Za-z]|[|><]|&&)|[=/]")
_YAML_LINE = re.compile(r"^\s*(?:-\s+)?[\w.\"'/-]+:(?:\s|$)|^\s*-\s+\S|^\s*#")
_PYTHON = re.compile(r"^(?:import\s+\w|from\s+[\w.]+\s+import\b|def\s+\w+\(|class\s+\w+|print\(|@\w)")


def is_program(word: str) -> bool:
    """A program a responder runs: a known one, a path or script, a Windows .exe, a PowerShell cmdlet."""
    if not word:
        return False
    word = word.strip("`'\"")
    if _program(word) or _POWERSHELL.match(word):
        return True
    base = word.rsplit("\\", 1)[-1].rsplit("/", 1)[-1].lower()
    return base.endswith((".exe", ".ps1", ".cmd", ".bat")) or base.removesuffix(".exe") in PROGRAMS


_CONTROL = frozenset(
    """
    if then else elif fi for while until do done case esac function export set unset source
    """.split()  # noqa: SIM905 - a word list reads better as words
)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S")


def command_line(line: str) -> bool:
    """Does one line of a code block read as a command (rather than output, a log line or prose)?"""
    text = line.strip()
    if not text or text.startswith(("#", "//", "--")):
        return False
    if _ASSIGNMENT.match(text) or _sql(text) or _POWERSHELL.match(text):
        return True
    word = _first_word(text)
    if word in _CONTROL or word in ("sudo", "watch", "time", "nohup", "env"):
        return True
    if is_program(word):
        return True
    # an unknown tool with options: 'rpm-ostree rebase --experimental x', 'mytool -n ns get'
    named = re.fullmatch(r"[a-z][a-z0-9._-]{1,40}", word)
    return bool(named) and bool(re.search(r"(?:^|\s)--?[A-Za-z]", text[len(word) :]))


def _first_word(text: str) -> str:
    words = text.split(None, 2)
    if words and words[0] == "$":  # a shell prompt written in front of the command
        words = words[1:]
    return words[0] if words else ""


def _program(word: str) -> bool:
    if word in PROGRAMS:
        return True
    if _PATH.match(word):
        return True
    base = word.rsplit("/", 1)[-1]
    return bool(base in PROGRAMS or _SCRIPT.search(base))


def _sql(text: str) -> bool:
    words = text.split(None, 2)
    return len(words) >= 2 and words[0].upper() == words[0] and words[0] in SQL_WORDS


def looks_like_command(text: str, *, after_colon: bool = False) -> bool:
    """Does this inline code (or prose after a colon) read as something to run?"""
    text = text.strip()
    if not text or len(text) > 4000 or text.startswith(("http://", "https://")):
        return False
    if _sql(text) or _POWERSHELL.match(text):
        return True
    word = _first_word(text)
    if not _program(word):
        return False
    if len(text.split()) >= 2:
        return True
    # a lone `uptime` is a command when the document introduces it as one ("Who is logged in: `uptime`")
    return after_colon and (word in PROGRAMS or bool(_SCRIPT.search(word)))


def prose_command(text: str) -> bool:
    """Unquoted prose that is a command: a known program plus arguments that only a shell would read."""
    text = text.strip()
    if not text or "`" in text:
        return False
    if _sql(text) and len(text.split()) >= 3:
        return True
    if _POWERSHELL.match(text) and len(text.split()) >= 2:
        return True
    word = _first_word(text)
    if not (word in PROGRAMS or _PATH.match(word)):
        return False
    rest = text[len(word) :]
    if _PATH.match(word) and not rest.strip():
        return bool(_SCRIPT.search(word))
    if _SHELLISH.search(rest):
        return True
    return word not in WORDLIKE and len(rest.split()) >= 2 and not text.endswith(".")


def guess_language(text: str) -> str:
    """A language for an unlabelled fence or inline command: bash, sql, powershell, python, yaml or text."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    code = [line for line in lines if not line.lstrip().startswith(("#", "--", "//"))]
    first = code[0].strip() if code else ""
    if first and _sql(first):
        return "sql"
    if first and _POWERSHELL.match(first):
        return "powershell"
    if first and _PYTHON.match(first):
        return "python"
    if first and _program(_first_word(first)):
        return "bash"
    if len(lines) >= 2 and all(_YAML_LINE.match(line) for line in lines):
        return "yaml"
    if lines and all(line.lstrip().startswith("#") for line in lines):
        return "bash"  # only comments: a shell snippet's explanation, as runbooks write them
    return "text"


def block_command(text: str, language: str | None) -> ImportedCommand | None:
    """A code block as one command: leading and trailing blank lines dropped, everything else kept."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return None
    body = "\n".join(lines)
    return ImportedCommand(language=language or guess_language(body), text=body)


@dataclass
class Split:
    text: str  # the instruction without its commands
    commands: list[ImportedCommand]


_DANGLING = re.compile(r"[\s:,;–—-]+$")
_EMPTY_PARENS = re.compile(r"\(\s*\)")
_CHAT = re.compile(r"^[/!][a-z][\w.-]*(?:\s|$)")
_RUN_WORDS = frozenset(
    """
    run running execute executing type typing enter entering invoke invoking issue paste command
    """.split()  # noqa: SIM905 - a word list reads better as words
)
_WITH_WORDS = frozenset(
    """
    with using via
    """.split()  # noqa: SIM905 - a word list reads better as words
)
_INCOMPLETE_END = ("=", "|", "\\", "&&", "||", " -", "(", ",")


def split_commands(text: str) -> Split:
    """Separate an instruction from the commands written in it, inline or after a colon."""
    words, commands = _split_commands(text)
    return Split(words, [ImportedCommand(language, command) for language, command in commands])


# Both classifying a section and reading its steps split the same texts: remember the last few thousand.
@lru_cache(maxsize=16384)
def _split_commands(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    split = _split_uncached(text)
    return split.text, tuple((c.language, c.text) for c in split.commands)


def _split_uncached(text: str) -> Split:
    if "`" in text:
        spans = [s for s in code_spans(text) if _is_command_span(text, s)]
        if spans:
            return _cut_spans(text, spans)
    head, sep, tail = text.partition(": ")
    if sep and head.strip() and prose_command(tail):
        return Split(collapse(head), [_inline_command(tail)])
    if "\n" not in text.strip() and prose_command(text) and len(text.split()) >= 2:
        return Split("", [_inline_command(text)])
    return Split(collapse(text), [])


def _intro(text: str, span: CodeSpan) -> str:
    """How the code is introduced: 'colon', 'run' ('run', 'by typing', 'run a manual'), 'with', 'end'
    (it ends its sentence or its item), 'start' (it opens the item) or 'mid' (inside a sentence)."""
    before = text[: span.start].rstrip()
    after = text[span.end :].lstrip()
    if before.endswith(":") or before.endswith(": ("):
        return "colon"
    last = [w.strip("(,").lower() for w in before.split()[-3:]]
    if any(w in _RUN_WORDS for w in last):
        return "run"
    if last and last[-1] in _WITH_WORDS:
        return "with"
    if not after or after[0] in ".!?;" and not after[1:2].isalnum():
        return "end"
    if after.startswith(")") and not after[1:].strip(" .;,"):
        return "end"
    if not before or before.endswith((".", "!", "?")) or before in ("-", "*"):
        return "start"
    return "mid"


def _is_command_span(text: str, span: CodeSpan) -> bool:
    content = span.content.strip()
    intro = _intro(text, span)
    if _CHAT.match(content) and not content.split()[0].count("/") > 1:
        return intro in ("colon", "run", "with", "end")
    introduced = intro in ("colon", "run")
    if introduced and _SELECTOR.match(content) and not content.startswith(("http", "/")):
        return "{" in content  # a PromQL/LogQL selector given as the thing to run: `{app="x"}`
    if not looks_like_command(content, after_colon=introduced) and not (introduced and _sql_lower(content)):
        return False
    if content.endswith(_INCOMPLETE_END) or content.count("'") % 2 or content.count('"') % 2:
        return False
    if intro in ("colon", "run"):
        return True
    return _strong(content)


def _strong(content: str) -> bool:
    """Complete on its own: three words or more, or a program and a real argument (a path, a quoted
    string, a value), not a program and a bare word or a lone option ('podman pull', 'kill -9')."""
    words = content.split()
    if len(words) >= 3:
        return True
    if len(words) == 2:
        arg = words[1]
        return not arg.startswith("-") and bool(re.search(r"[\"'$/=.:@<{\[0-9]", arg))
    return False


def _sql_lower(text: str) -> bool:
    words = text.split(None, 2)
    return len(words) >= 2 and words[0].upper() in SQL_WORDS


def _cut_spans(text: str, spans: list[CodeSpan]) -> Split:
    commands = [_inline_command(s.content) for s in spans]
    pieces: list[str] = []
    pos = 0
    for span in spans:
        before = text[pos : span.start]
        intro = _intro(text, span)
        rest = text[span.end :].strip(" .;,!?)")
        opens = not text[: span.start].strip() or text[: span.start].rstrip().endswith((".", "!", "?"))
        if intro == "colon" or (not rest and intro != "run") or (opens and intro == "start"):
            # "Check the pods: `kubectl get pods`" -> "Check the pods"; the command is kept apart
            pieces.append(_DANGLING.sub("", before) if before.rstrip().endswith(":") else before)
        else:
            pieces.append(before + text[span.start : span.end])  # the sentence needs it
        pos = span.end
    pieces.append(text[pos:])
    words = collapse(_EMPTY_PARENS.sub("", "".join(pieces)))
    words = _SPACE_BEFORE_STOP.sub(r"\1", words)
    return Split(_DANGLING.sub("", words) if words.endswith((":", ",", "-")) else words, commands)


_SPACE_BEFORE_STOP = re.compile(r"\s+([.;,!?])")
_SELECTOR = re.compile(r"^(?:[a-zA-Z_:][\w:]*)?\{[^{}]*[=~][^{}]*\}(?:\s*[|!=]=?.*)?$|^\w+\(.*\)$")


def _inline_command(text: str) -> ImportedCommand:
    text = text.strip()
    if _CHAT.match(text):
        language = "text"
    elif _SELECTOR.match(text) and "{" in text:
        language = "logql" if text.startswith("{") else "promql"
    else:
        language = guess_language(text)
    return ImportedCommand(language=language, text=text)
