"""How a command really runs on a worker: what it may invoke (policy), what it may print (redaction), and the
process that runs it (runner).

No Django here: the Celery task reads the execution target and passes everything in as arguments.
"""

from .policy import IMPLICITLY_ALLOWED, CommandRefused, check_allowed, programs_in, split_dsn
from .redaction import Redactor, redact
from .runner import SAFE_PATH, ExecutionResult, run

__all__ = [
    "IMPLICITLY_ALLOWED", "SAFE_PATH", "CommandRefused", "ExecutionResult", "Redactor", "check_allowed",
    "programs_in", "redact", "run", "split_dsn",
]
