"""Each corpus document, parsed and scored by shared/tools/check_import.py at its default thresholds.

The corpus (real public runbooks with hand-written expected imports) lives outside the project, in
../shared/corpus; it is read here at run time and never copied in. Under CI a missing corpus fails.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import pytest

from runbooks.importer import parse_document, to_contract

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus"
DOCS = sorted((CORPUS / "docs").glob("*")) if (CORPUS / "docs").is_dir() else []


def _need_corpus() -> None:
    if DOCS and (SHARED / "tools" / "check_import.py").is_file():
        return
    reason = f"{CORPUS} (the corpus documents and check_import.py) is not beside the checkout"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def _check_import():
    spec = importlib.util.spec_from_file_location("check_import", SHARED / "tools" / "check_import.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_import", module)  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _expected(doc: Path) -> Path:
    return CORPUS / "expected" / f"{doc.name.split('.', 1)[0]}.json"


@pytest.mark.parametrize("name", [doc.name for doc in DOCS] or ["(no corpus)"])
def test_each_corpus_document_passes_check_import(name, tmp_path):
    _need_corpus()
    doc = CORPUS / "docs" / name
    actual = tmp_path / "actual.json"
    actual.write_text(json.dumps(to_contract([parse_document(doc.read_bytes(), name)])), encoding="utf-8")

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = _check_import().main([str(_expected(doc)), str(actual), "--verbose"])

    assert status == 0, out.getvalue()


@pytest.mark.parametrize("name", [doc.name for doc in DOCS] or ["(no corpus)"])
def test_each_corpus_document_says_its_shape_and_why(name):
    _need_corpus()
    doc = parse_document((CORPUS / "docs" / name).read_bytes(), name)

    assert doc.shape in ("procedure", "catalogue", "policy", "mix")
    assert doc.why and all(isinstance(reason, str) and reason for reason in doc.why)
