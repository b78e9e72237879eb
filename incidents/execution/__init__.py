"""How a command really runs on a worker: what it may invoke (policy), what it may print (redaction), and the
process that runs it (runner).

No Django here: the Celery task reads the execution target and passes everything in as arguments.
"""

from .isolation import Isolation
from .isolation import resolve as resolve_isolation
from .policy import IMPLICITLY_ALLOWED, CommandRefused, check_allowed, programs_in, split_dsn
from .redaction import Redactor, redact, strip_terminal_codes
from .runner import SAFE_PATH, ExecutionResult, run

__all__ = [
    "IMPLICITLY_ALLOWED", "SAFE_PATH", "CommandRefused", "ExecutionResult", "Isolation", "Redactor",
    "check_allowed", "programs_in", "redact", "resolve_isolation", "run", "split_dsn", "strip_terminal_codes",
]
