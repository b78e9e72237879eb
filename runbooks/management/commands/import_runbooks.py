"""Import runbook documents: `manage.py import_runbooks PATH... [--split=auto|document|h2|h3] [--dry-run] [--json]`.

A PATH may be a folder: its documents (.md, .markdown, .txt, .html.md, .md.erb) are imported, folders
below it included, in name order. --json prints the JSON contract (shared/import-format.md, with the
optional fields of docs/import-format.md) and nothing else on stdout; progress, warnings and errors go
to stderr. Each document is stored in its own transaction; a file that cannot be read or is too big is
reported and skipped, and the command exits non-zero at the end.

--split chooses how documents are read into runbooks and is remembered for each document, like the
choice an admin makes on the import preview; without it, each document is stored the way chosen for it
last time (or as the importer decides, the first time). --dry-run --json needs no database and reads
each document as --split says (default: as the importer decides).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from runbooks.importer import SPLITS, parse_document, to_contract
from runbooks.store import (
    ImportLimitError,
    plural,
    preview_document,
    store_document,
    stored_split,
    unreadable_reason,
)
from runbooks.uploads import DOCUMENT_SUFFIXES  # the one list: folders here, zips in the browser upload


class Command(BaseCommand):
    help = "Parse runbook documents (Markdown or text) and store their runbooks, severity matrix and contacts."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="documents, or folders of documents, to import")
        parser.add_argument(
            "--split", choices=SPLITS, default=None,
            help="how to read the documents into runbooks: auto (the importer decides from the document's "
                 "shape), document (one runbook), h2 or h3 (each heading of that level is a runbook); "
                 "remembered for each document",
        )
        parser.add_argument("--dry-run", action="store_true", help="parse and show what would change; store nothing")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the import as JSON on stdout")

    def handle(self, *args, paths, split, dry_run, as_json, **options):
        failed: list[str] = []
        docs = []
        files = self._expand(paths, failed)
        for path in files:
            data = self._read(path, failed)
            if data is None:
                continue
            # the contract of a --dry-run --json is the parse alone: no database, so no remembered reading
            remembered = "auto" if (dry_run and as_json) else self._stored_split(path)
            doc = parse_document(data, path, split=split or remembered)
            if as_json:  # stdout is the JSON: warnings go to stderr, each on its own line
                for warning in getattr(doc, "warnings", None) or []:
                    self.stderr.write(f"{path}: warning: {warning}")
            if dry_run and as_json:
                pass  # the contract is the parse alone: no database needed
            elif dry_run:
                try:
                    result = preview_document(doc)
                except ImportLimitError as exc:
                    failed.append(path)
                    self._doc_warnings(path, doc, as_json)
                    self.stderr.write(f"{path}: error: it would not be stored: {exc}")
                    continue
                except DatabaseError as exc:
                    self.stderr.write(f"{path}: the database is not ready ({exc}); showing the parse only")
                    self.stdout.write(f"{path}: parsed: {plural(len(doc.runbooks), 'runbook')} ({doc.shape})")
                    for runbook in doc.runbooks:
                        self.stdout.write(f"  {runbook.title}")
                    self._doc_warnings(path, doc, as_json)
                except Exception as exc:  # noqa: BLE001 - reported per file, the others still import
                    failed.append(path)
                    self._doc_warnings(path, doc, as_json)
                    self.stderr.write(f"{path}: error: it would not store: {exc}")
                    continue
                else:
                    self._report(path, f"would import: {result}", result, doc, as_json)
            else:
                try:
                    result = store_document(doc, source_bytes=data)
                except Exception as exc:  # noqa: BLE001 - nothing of this document was stored (one transaction)
                    failed.append(path)
                    self._doc_warnings(path, doc, as_json)
                    self.stderr.write(f"{path}: error: nothing stored: {exc}")
                    continue
                self._report(path, f"stored: {result}", result, doc, as_json)
            docs.append(doc)
        if as_json:
            self.stdout.write(_dumps(to_contract(docs)))
        if failed:
            raise CommandError(f"{len(failed)} of {len(files) or len(paths)} file(s) failed: {', '.join(failed)}")

    def _expand(self, paths: list[str], failed: list[str]) -> list[str]:
        """Files as given; a folder's documents, sub-folders included, in name order."""
        files: list[str] = []
        for path in paths:
            folder = Path(path)
            if not folder.is_dir():
                files.append(path)
                continue
            found = sorted(
                str(p) for p in folder.rglob("*")
                if p.is_file() and p.name.lower().endswith(DOCUMENT_SUFFIXES) and not p.name.startswith(".")
            )
            if not found:
                failed.append(path)
                self.stderr.write(
                    f"{path}: error: no documents in this folder ({', '.join(DOCUMENT_SUFFIXES)})"
                )
            files.extend(found)
        return files

    def _stored_split(self, path: str) -> str:
        try:
            return stored_split(path)
        except DatabaseError:
            return "auto"  # no database yet (a dry run on a fresh checkout): the importer decides

    def _read(self, path: str, failed: list[str]) -> bytes | None:
        file = Path(path)
        reason = None
        if not file.exists():
            reason = "no such file"
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

    def _doc_warnings(self, path: str, doc, as_json: bool) -> None:
        """The reader's warnings about a document that was not stored (with --json they were already shown)."""
        if not as_json:
            for warning in getattr(doc, "warnings", None) or []:
                self.stderr.write(f"{path}: warning: {warning}")

    def _report(self, path: str, line: str, result, doc, as_json: bool) -> None:
        out = self.stderr if as_json else self.stdout
        out.write(f"{path}: {line}")
        if as_json:
            # the reader's warnings went to stderr already; what storing added is said here
            seen = set(getattr(doc, "warnings", None) or [])
            for warning in result.warnings:
                if warning not in seen:
                    out.write(f"{path}: warning: {warning}")
            return
        out.write(f"  read as: {doc.shape} (split {doc.split}): {'; '.join(doc.why)}")
        for label, titles in (("new", result.created), ("changed", result.updated)):
            for title in titles:
                out.write(f"  {label}: {title}")
        for decision in result.severity_decisions:
            out.write(f"  severity: {decision}")
        for kept in result.kept:
            out.write(f"  kept (an admin's decision): {kept}")
        for warning in result.warnings:  # every one, not only their count: the reader's and the store's
            out.write(f"  warning: {warning}")


def _dumps(contract: dict) -> str:
    return json.dumps(contract, indent=2, ensure_ascii=False)
