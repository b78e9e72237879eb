"""What turns an allowed program into another program: per-program refusals, as data admins can read.

An allow-list that says "kubectl" means the kubectl the admin installed, talking to the clusters the admin
configured. Some options and variables make an allowed program load code or configuration that the command
itself chose (``kubectl --kubeconfig /tmp/k`` with an exec credential plugin in it, ``psql`` reading a
``.psqlrc`` that runs ``\\!``, ``ssh -o ProxyCommand=…``, ``PYTHONPATH=/tmp``): those are refused, with the
reason, before anything runs.

`PROGRAM_RULES` (per program) and `CODE_VARIABLES` (for every program) are the table: the execution target's
admin page and SECURITY.md show them. `check_program` applies the rules to one command line (plain words, as
the bash walker read them); the walker applies `check_variable` to every variable a script sets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import CommandRefused

# --- what needs no listing, what never runs, and how wrappers read ----------------------------------------

# Harmless with any arguments the checks below let through, so no allow-list needs to name them.
IMPLICITLY_ALLOWED = frozenset({
    "echo", "printf", "true", "false", ":", "test", "[", "sleep", "cd", "pwd", "set", "exit", "shift",
    "break", "continue", "export", "read", "wait",
})
NEVER = {
    "eval": "it runs text as shell code, which cannot be checked beforehand",
    "source": "it runs a file as shell code, which cannot be checked beforehand",
    ".": "it runs a file as shell code, which cannot be checked beforehand",
    "exec": "it replaces the shell, escaping the checks and the output capture",
    "trap": "it runs its text as shell code later",
    "coproc": "its commands run outside what the console can follow",
    "setsid": "it escapes the run's process group, so a timeout or cancel could not stop it",
    "enable": "it changes how commands are found",
    "hash": "it changes how commands are found",
    "alias": "it changes how commands are found",
    "unalias": "it changes how commands are found",
    "shopt": "it changes how the shell reads commands",
    "bind": "it changes how the shell reads commands",
    "complete": "it can run commands later",
    "compgen": "it can run commands",
    "fc": "it re-runs commands from history",
    "let": "its arithmetic can run code hidden in variables",
    "declare": "its attributes and arithmetic can run code hidden in variables",
    "typeset": "its attributes and arithmetic can run code hidden in variables",
    "local": "its attributes and arithmetic can run code hidden in variables",
    "readonly": "it can change how variables behave",
    "mapfile": "its callback option runs code",
    "readarray": "its callback option runs code",
}
BASH_BUILTINS = frozenset({
    "alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen", "complete", "compopt",
    "continue", "declare", "dirs", "disown", "echo", "enable", "eval", "exec", "exit", "export", "false",
    "fc", "fg", "getopts", "hash", "help", "history", "jobs", "kill", "let", "local", "logout", "mapfile",
    "popd", "printf", "pushd", "pwd", "read", "readarray", "readonly", "return", "set", "shift", "shopt",
    "source", "suspend", "test", "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias",
    "unset", "wait", ".", ":", "[",
})


@dataclass(frozen=True)
class Options:
    """How a wrapper's command line reads, as far as finding the program it runs needs."""

    flags: str = ""
    valued: str = ""
    long_flags: frozenset[str] = frozenset()
    long_valued: frozenset[str] = frozenset()
    long_optional: frozenset[str] = frozenset()  # --name[=value]: a value only when attached
    optional_attached: str = ""  # -i[R]: a value only when attached
    assignments: bool = False  # NAME=value words may come before the program (env, sudo)
    positionals: int = 0  # words between the options and the program (timeout's duration)
    numeric: bool = False  # "-10" is an option (nice)
    bare_dash: bool = False  # "-" alone is an option (env)


WRAPPERS = {
    "sudo": Options(
        flags="bEHknPS", valued="CDghpRrTtUu", assignments=True,
        long_flags=frozenset({"--background", "--preserve-env", "--set-home", "--non-interactive",
                              "--preserve-groups", "--stdin", "--reset-timestamp"}),
        long_valued=frozenset({"--chdir", "--close-from", "--group", "--host", "--prompt", "--chroot",
                               "--role", "--command-timeout", "--type", "--other-user", "--user"}),
        long_optional=frozenset({"--preserve-env"}),
    ),
    "env": Options(
        flags="i0v", valued="uC", assignments=True, bare_dash=True,
        long_flags=frozenset({"--ignore-environment", "--null", "--debug"}),
        long_valued=frozenset({"--unset", "--chdir"}),
    ),
    "timeout": Options(
        flags="v", valued="sk", positionals=1,
        long_flags=frozenset({"--preserve-status", "--foreground", "--verbose"}),
        long_valued=frozenset({"--signal", "--kill-after"}),
    ),
    "nice": Options(valued="n", long_valued=frozenset({"--adjustment"}), numeric=True),
    "nohup": Options(),
    "stdbuf": Options(valued="ioe", long_valued=frozenset({"--input", "--output", "--error"})),
    "ionice": Options(flags="t", valued="cn", long_flags=frozenset({"--ignore"}),
                       long_valued=frozenset({"--class", "--classdata"})),
    "xargs": Options(
        flags="0prtxo", valued="aEdILnPs", optional_attached="ile",
        long_flags=frozenset({"--null", "--no-run-if-empty", "--verbose", "--interactive", "--exit",
                              "--open-tty"}),
        long_valued=frozenset({"--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars",
                               "--process-slot-var"}),
        long_optional=frozenset({"--replace", "--eof", "--max-lines"}),
    ),
    "time": Options(
        flags="pvaq", valued="fo",
        long_flags=frozenset({"--portability", "--verbose", "--append", "--quiet"}),
        long_valued=frozenset({"--format", "--output"}),
    ),
    "command": Options(flags="pvV"),
    "builtin": Options(),
}
WATCH = Options(
    flags="bcdegptwx", valued="nq",
    long_flags=frozenset({"--beep", "--color", "--no-color", "--errexit", "--chgexit", "--precise",
                          "--no-title", "--no-wrap", "--exec"}),
    long_valued=frozenset({"--interval", "--equexit"}),
    long_optional=frozenset({"--differences"}),
)
SET_OPTIONS = frozenset({"errexit", "nounset", "xtrace", "verbose", "pipefail", "noglob", "noclobber"})


# --- per-program refusals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One refusal: for `program`, what is refused (as a person would write it) and why.

    How it matches a command line (any that apply):
    * `options`: an option word, given alone, with ``=value``, or (short options) attached or bundled;
    * `option_values`: an option whose value starts with one of these (case-insensitive): ``-o ProxyCommand``;
    * `subcommands`: the first words that are not options, e.g. ``("config", "set-credentials")``;
    * `requires`: the command line must hold one of these options (``psql -X``).
    """

    program: str
    refuses: str
    reason: str
    options: tuple[str, ...] = ()
    option_values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    subcommands: tuple[tuple[str, ...], ...] = ()
    requires: tuple[str, ...] = ()


# Short options that take a value, per program: a bundle like "-sK" is read letter by letter until one of
# these, so "-ofile-K" is "-o file-K", not "-K".
_VALUED_SHORT = {
    "curl": "AbCcDdEeFHhKmoQrTtUuwXxYyz",
    "wget": "aBDeiOoPtTUw",
    "ssh": "BbcDEeFIiJLlmOoPpQRSWw",
    "scp": "cDFiJloPS",
    "sftp": "BbcDFilPRSs",
    "kubectl": "cflLnos",
    "psql": "cdfFhLopPRTUv",
    "git": "cC",
    "rsync": "eBfT",
    "helm": "fn",
}

_SSH_CODE_OPTIONS = ("proxycommand", "localcommand", "permitlocalcommand", "knownhostscommand", "include",
                     "match", "pkcs11provider", "securitykeyprovider", "proxyusefdpass", "controlmaster")
_SSH_REASON = ("it names a program for ssh to run, or a file of such settings, chosen by the command rather "
               "than by the host's own ssh configuration")

PROGRAM_RULES: tuple[Rule, ...] = (
    Rule("kubectl", "--kubeconfig", "a kubeconfig chosen by the command can name an exec credential plugin, "
         "a program kubectl then runs; commands use the kubeconfig the target gives them",
         options=("--kubeconfig",)),
    Rule("kubectl", "--server, -s", "it sends the target's cluster credentials to a server the command chose",
         options=("--server", "-s")),
    Rule("kubectl", "--exec-command, --exec-arg, --exec-env, --auth-provider, --auth-provider-arg",
         "they write an exec credential plugin (a program kubectl runs) into the kubeconfig",
         options=("--exec-command", "--exec-arg", "--exec-env", "--auth-provider", "--auth-provider-arg")),
    Rule("kubectl", "kubectl config set… / unset / use-context / rename-context / delete-…",
         "they rewrite the target's kubeconfig, where an exec credential plugin names a program to run",
         subcommands=(("config", "set"), ("config", "set-credentials"), ("config", "set-cluster"),
                      ("config", "set-context"), ("config", "unset"), ("config", "use-context"),
                      ("config", "use"), ("config", "rename-context"), ("config", "delete-cluster"),
                      ("config", "delete-context"), ("config", "delete-user"))),
    Rule("kubectl", "--enable-alpha-plugins, --enable-helm, --helm-command",
         "kustomize plugins and helm are programs kubectl would run", options=(
             "--enable-alpha-plugins", "--enable-helm", "--helm-command")),
    Rule("psql", "psql without -X (--no-psqlrc)", "psql first reads ~/.psqlrc and the system psqlrc, whose "
         "meta-commands can run programs (\\!); write psql -X", requires=("-X", "--no-psqlrc")),
    Rule("psql", "-f FILE, --file", "it runs SQL from a file the console cannot check; put the SQL in the "
         "command", options=()),  # checked by the walker, which reads psql's SQL; listed here to be read
    Rule("curl", "-K, --config", "a config file chosen by the command can add any option, including ones "
         "that write files or send the target's credentials elsewhere", options=("-K", "--config")),
    Rule("curl", "--engine", "it loads an OpenSSL engine: a shared library, i.e. code", options=("--engine",)),
    Rule("wget", "--config, -e, --execute", "they read wgetrc commands chosen by the command",
         options=("--config", "-e", "--execute")),
    Rule("wget", "--use-askpass", "it runs a program to ask for credentials", options=("--use-askpass",)),
    Rule("git", "-c, --config-env (except color., advice., log., user., format., column.)",
         "core.sshCommand, core.pager, core.fsmonitor, alias.*=!…, credential.helper and many more run "
         "programs", option_values=(("-c", ()), ("--config-env", ()))),
    Rule("git", "--exec-path", "it makes git run its helper programs from a directory the command chose",
         options=("--exec-path",)),
    Rule("git", "--upload-pack, -u, --receive-pack", "they name the program git runs for the transfer",
         options=("--upload-pack", "--receive-pack")),
    Rule("git", "git config (writing)", "repository settings such as core.fsmonitor run programs",
         subcommands=(("config",),)),
    Rule("ssh", "-F FILE, -o ProxyCommand/LocalCommand/KnownHostsCommand/Include/Match/PKCS11Provider/…, -I",
         _SSH_REASON, options=("-F", "-I"), option_values=(("-o", _SSH_CODE_OPTIONS),)),
    Rule("scp", "-S PROGRAM, -F FILE, -o ProxyCommand/…", _SSH_REASON, options=("-S", "-F"),
         option_values=(("-o", _SSH_CODE_OPTIONS),)),
    Rule("sftp", "-S PROGRAM, -D PATH, -F FILE, -o ProxyCommand/…", _SSH_REASON, options=("-S", "-D", "-F"),
         option_values=(("-o", _SSH_CODE_OPTIONS),)),
    Rule("rsync", "-e, --rsh, --rsync-path", "they name the programs rsync runs",
         options=("-e", "--rsh", "--rsync-path")),
    Rule("aws", "aws configure", "it writes the AWS config, where credential_process names a program to run",
         subcommands=(("configure",),)),
    Rule("helm", "--kubeconfig, --post-renderer, helm plugin", "a kubeconfig, a post-renderer or a plugin "
         "chosen by the command is a program helm runs",
         options=("--kubeconfig", "--post-renderer"), subcommands=(("plugin",),)),
    Rule("docker", "--config", "a docker config chosen by the command names credential helpers: programs",
         options=("--config",)),
)

# Variables that make some program load code or configuration: no script may set them (an assignment,
# export, env, read or a for loop). The target's own environment, set by an admin, may.
CODE_VARIABLES: dict[str, str] = {
    "KUBECONFIG": "kubectl would read a kubeconfig the command chose (exec credential plugins run programs)",
    "AWS_CONFIG_FILE": "the AWS CLI would read a config the command chose (credential_process runs a program)",
    "AWS_SHARED_CREDENTIALS_FILE": "the AWS CLI would read credentials and settings the command chose",
    "PSQLRC": "psql would run a startup file the command chose (\\! runs programs)",
    "PGSYSCONFDIR": "psql would run a system startup file the command chose",
    "PSQL_PAGER": "psql would run it as a program", "PSQL_EDITOR": "psql would run it as a program",
    "CURL_HOME": "curl would read a .curlrc the command chose", "WGETRC": "wget would read a wgetrc the "
    "command chose", "XDG_CONFIG_HOME": "curl, git and others would read configuration the command chose",
    "PYTHONPATH": "Python would import code the command chose", "PYTHONSTARTUP": "Python would run a file the "
    "command chose", "PYTHONHOME": "Python would load its library from where the command chose",
    "PYTHONUSERBASE": "Python would import code the command chose", "PYTHONINSPECT": "Python would read code "
    "from its input", "PERL5LIB": "Perl would load code the command chose", "PERLLIB": "Perl would load code "
    "the command chose", "PERL5OPT": "Perl would take options (and code) the command chose",
    "RUBYLIB": "Ruby would load code the command chose", "RUBYOPT": "Ruby would take options (and code) the "
    "command chose", "NODE_OPTIONS": "Node would take options (and code) the command chose",
    "NODE_PATH": "Node would load code the command chose",
    "GIT_CONFIG": "git would read settings (which run programs) the command chose",
    "GIT_CONFIG_GLOBAL": "git would read settings the command chose", "GIT_CONFIG_SYSTEM": "git would read "
    "settings the command chose", "GIT_CONFIG_PARAMETERS": "git would take settings the command chose",
    "GIT_CONFIG_COUNT": "git would take settings the command chose", "GIT_SSH": "git would run it as ssh",
    "GIT_SSH_COMMAND": "git would run it as ssh", "GIT_EXEC_PATH": "git would run helpers from there",
    "GIT_ASKPASS": "git would run it as a program", "GIT_EDITOR": "git would run it as a program",
    "GIT_PAGER": "git would run it as a program", "GIT_EXTERNAL_DIFF": "git would run it as a program",
    "GIT_PROXY_COMMAND": "git would run it as a program", "GIT_DIR": "git would read a repository (and its "
    "settings, which run programs) the command chose", "SSH_ASKPASS": "ssh would run it as a program",
    "RSYNC_RSH": "rsync would run it as a program", "HELM_PLUGINS": "helm would run plugins from there",
    "DOCKER_CONFIG": "docker would run the credential helpers named there",
    "OPENSSL_CONF": "OpenSSL would load engines (code) named in a file the command chose",
    "OPENSSL_ENGINES": "OpenSSL would load engines (code) from there",
    "GCONV_PATH": "the C library would load code from there", "LOCPATH": "the C library would read locale "
    "data from there", "TERMINFO": "programs would read terminal descriptions from there",
}


def _short_letters(program: str, word: str) -> str:
    """The letters of a bundle of short options ("-sK" -> "sK"), up to and including a valued one."""
    valued = _VALUED_SHORT.get(program, "")
    letters = []
    for letter in word[1:]:
        letters.append(letter)
        if letter in valued:
            break
    return "".join(letters)


def _uses_option(program: str, words: list[str], option: str) -> bool:
    for word in words:
        if word == "--":
            return False
        if option.startswith("--"):
            if word == option or word.startswith(option + "="):
                return True
        elif word.startswith("-") and not word.startswith("--") and len(word) > 1 \
                and option[1] in _short_letters(program, word):
            return True
    return False


def _option_values(program: str, words: list[str], option: str) -> list[str]:
    """Every value given to `option` ("-o X", "-oX", "--opt=X", "--opt X")."""
    values = []
    for i, word in enumerate(words):
        if word == "--":
            break
        following = words[i + 1] if i + 1 < len(words) else ""
        if option.startswith("--"):
            if word == option:
                values.append(following)
            elif word.startswith(option + "="):
                values.append(word.split("=", 1)[1])
        elif word.startswith("-") and not word.startswith("--") and len(word) > 1:
            letters = _short_letters(program, word)
            if letters.endswith(option[1]):
                attached = word[1 + len(letters):]
                values.append(attached or following)
    return values


def _subcommand(words: list[str], program: str) -> list[str]:
    """The words that are not options, skipping the values of valued options as far as the table knows."""
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            short_valued = not word.startswith("--") and len(word) == 2 and word[1] in _VALUED_SHORT.get(program, "")
            skip = short_valued or word in _VALUED_LONG
            continue
        found.append(word)
    return found


_VALUED_LONG = frozenset({"--namespace", "--context", "--cluster", "--user", "--profile", "--region"})
_GIT_HARMLESS_SETTINGS = ("color.", "advice.", "log.", "user.", "format.", "column.")


def check_program(program: str, words: list[str]) -> None:
    """Raise CommandRefused when `words` (the arguments, as plain text) use a refused option of `program`."""
    base = program.rsplit("/", 1)[-1]
    for rule in PROGRAM_RULES:
        if rule.program != base:
            continue
        for option in rule.options:
            if _uses_option(base, words, option):
                raise CommandRefused(f"{base} {option} is not allowed: {rule.reason}.")
        for option, prefixes in rule.option_values:
            for value in _option_values(base, words, option):
                lowered = value.lower().lstrip()
                if base == "git":
                    if not lowered.startswith(_GIT_HARMLESS_SETTINGS):
                        raise CommandRefused(f"git {option} {value} is not allowed: {rule.reason}.")
                elif any(lowered.startswith(p) for p in prefixes):
                    raise CommandRefused(f"{base} {option} {value} is not allowed: {rule.reason}.")
        if rule.subcommands:
            positional = _subcommand(words, base)
            for sub in rule.subcommands:
                if tuple(positional[:len(sub)]) == sub and not _reads_only(base, sub, words):
                    raise CommandRefused(f"{base} {' '.join(sub)} is not allowed: {rule.reason}.")
        if rule.requires and not any(_uses_option(base, words, option) for option in rule.requires):
            raise CommandRefused(f"{base} without {rule.requires[0]} is not allowed: {rule.reason}.")


def _reads_only(program: str, sub: tuple[str, ...], words: list[str]) -> bool:
    """`git config --get x` and `git config --list` only read."""
    if program == "git" and sub == ("config",):
        return any(w in ("--get", "--get-all", "--get-regexp", "--list", "-l", "get", "list") for w in words)
    return False


def check_variable_loads_code(name: str, how: str) -> None:
    if name in CODE_VARIABLES:
        raise CommandRefused(f"setting {name} in {how} is not allowed: {CODE_VARIABLES[name]}.")


def rules_for(programs: Iterable[str]) -> list[Rule]:
    """The rules that apply to these allowed programs (by name or path), in table order."""
    bases = {p.rsplit("/", 1)[-1] for p in programs}
    return [rule for rule in PROGRAM_RULES if rule.program in bases]


def refusal_table_markdown() -> str:
    """The table as Markdown, for SECURITY.md (a test keeps the two the same)."""
    lines = ["| program | refused | why |", "|---|---|---|"]
    for rule in PROGRAM_RULES:
        lines.append(f"| `{rule.program}` | {rule.refuses} | {rule.reason} |")
    lines += ["", "| variable (set by a command) | why |", "|---|---|"]
    lines += [f"| `{name}` | {why} |" for name, why in CODE_VARIABLES.items()]
    return "\n".join(lines)
