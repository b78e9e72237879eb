"""Each seed document, parsed and scored by shared/tools/check_import.py at its default thresholds.

The seeds live outside the project (../shared); they are read here at run time and never copied in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runbooks.importer import parse_document, to_contract

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEEDS = sorted((SHARED / "seeds").glob("*.txt")) if SHARED.is_dir() else []


def _need_shared() -> None:
    if SHARED.is_dir() and SEEDS:
        return
    reason = f"{SHARED} (the seed documents and check_import.py) is not beside the checkout"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.mark.parametrize("name", [seed.name for seed in SEEDS] or ["(no seeds)"])
def test_each_seed_passes_check_import(name, tmp_path):
    _need_shared()
    seed = SHARED / "seeds" / name
    expected = SHARED / "seeds" / "expected" / f"{seed.stem}.json"
    actual = tmp_path / f"{seed.stem}.json"
    doc = parse_document(seed.read_bytes(), seed.name)
    actual.write_text(json.dumps(to_contract([doc]), ensure_ascii=False), encoding="utf-8")

    check = subprocess.run(
        [sys.executable, str(SHARED / "tools" / "check_import.py"), str(expected), str(actual), "--verbose"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert check.returncode == 0, check.stdout + check.stderr


def test_all_seeds_together_pass_check_import(tmp_path):
    _need_shared()
    docs = [parse_document(seed.read_bytes(), seed.name) for seed in SEEDS]
    actual = tmp_path / "all.json"
    actual.write_text(json.dumps(to_contract(docs), ensure_ascii=False), encoding="utf-8")

    expected = SHARED / "seeds" / "expected"
    check = subprocess.run(
        [sys.executable, str(SHARED / "tools" / "check_import.py"), str(expected), str(actual)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().splitlines()[-1].startswith("check_import: PASS")
