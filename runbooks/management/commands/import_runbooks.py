"""Import runbook documents: `manage.py import_runbooks PATH... [--dry-run] [--json]`.

--json prints the JSON contract (shared/import-format.md) and nothing else on stdout; progress,
warnings and errors go to stderr. Each document is stored in its own transaction; a file that
cannot be read is reported and skipped, and the command exits non-zero at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, ProgrammingError

from runbooks.importer import parse_document, to_contract
from runbooks.store import plural, preview_document, store_document, unreadable_reason


class Command(BaseCommand):
    help = "Parse runbook documents (Markdown or text) and store their runbooks, severity matrix and contacts."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="documents to import")
        parser.add_argument("--dry-run", action="store_true", help="parse and show what would change; store nothing")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the import as JSON on stdout")

    def handle(self, *args, paths, dry_run, as_json, **options):
        failed: list[str] = []
        docs = []
        for path in paths:
            data = self._read(path, failed)
            if data is None:
                continue
            doc = parse_document(data, path)
            for warning in getattr(doc, "warnings", None) or []:
                self.stderr.write(f"{path}: warning: {warning}")
            if dry_run and as_json:
                pass  # the contract is the parse alone: no database needed
            elif dry_run:
                try:
                    result = preview_document(doc)
                except (OperationalError, ProgrammingError) as exc:
                    self.stderr.write(f"{path}: the database is not ready ({exc}); showing the parse only")
                    self.stdout.write(f"{path}: parsed: {plural(len(doc.runbooks), 'runbook')}")
                    for runbook in doc.runbooks:
                        self.stdout.write(f"  {runbook.title}")
                except Exception as exc:  # noqa: BLE001 - reported per file, the others still import
                    failed.append(path)
                    self.stderr.write(f"{path}: error: it would not store: {exc}")
                    continue
                else:
                    self._report(path, f"would import: {result}", result, as_json)
            else:
                try:
                    result = store_document(doc, source_bytes=data)
                except Exception as exc:  # noqa: BLE001 - nothing of this document was stored (one transaction)
                    failed.append(path)
                    self.stderr.write(f"{path}: error: nothing stored: {exc}")
                    continue
                self._report(path, f"stored: {result}", result, as_json)
            docs.append(doc)
        if as_json:
            self.stdout.write(_dumps(to_contract(docs)))
        if failed:
            raise CommandError(f"{len(failed)} of {len(paths)} file(s) failed: {', '.join(failed)}")

    def _read(self, path: str, failed: list[str]) -> bytes | None:
        file = Path(path)
        reason = None
        if not file.exists():
            reason = "no such file"
        elif file.is_dir():
            reason = "is a directory, not a document (name the files, e.g. DIR/*.md)"
        else:
            try:
                data = file.read_bytes()
            except OSError as exc:
                reason = f"cannot be read ({exc.strerror})"
            else:
                reason = unreadable_reason(data)
                if reason is None:
                    return data
        failed.append(path)
        self.stderr.write(f"{path}: error: {reason}")
        return None

    def _report(self, path: str, line: str, result, as_json: bool) -> None:
        out = self.stderr if as_json else self.stdout
        out.write(f"{path}: {line}")
        if as_json:
            return
        for label, titles in (("new", result.created), ("changed", result.updated)):
            for title in titles:
                out.write(f"  {label}: {title}")


def _dumps(contract: dict) -> str:
    return json.dumps(contract, indent=2, ensure_ascii=False)
