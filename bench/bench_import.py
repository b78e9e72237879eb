"""Importer figures: parse_document on 0.5, 1 and 2 MB documents built from our own sample runbooks.

Prints time (best and median of a few runs, wall clock), throughput, peak Python memory (tracemalloc, in a
separate run because tracing slows the parse), then whether the 2 MB target (under 2 s and 150 MiB) is met
and whether time grows linearly with size. No database, no Django: the importer is pure Python.

    .venv/bin/python bench/bench_import.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runbooks.importer import parse_document  # noqa: E402

SAMPLES = ROOT / "tests" / "runbooks" / "docs"
SIZES_MB = (0.5, 1, 2)
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
TARGET_SECONDS = 2.0
TARGET_MIB = 150
LINEAR_SLACK = 1.5  # seconds per MB may grow by this factor from the smallest to the biggest document


def sample_text() -> str:
    """All sample documents, front matter removed (it is only valid at the top of a file)."""
    parts = []
    for path in sorted(SAMPLES.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---\n"):
            text = text[text.index("\n---\n", 4) + 5 :]
        parts.append(text.rstrip() + "\n\n")
    return "".join(parts)


def document(megabytes: float) -> bytes:
    text = sample_text()
    size = int(megabytes * 1024 * 1024)
    text = text * (size // len(text) + 1)
    return text[: text.rindex("\n", 0, size) + 1].encode()


def timed(data: bytes) -> tuple[list[float], object]:
    times = []
    doc = None
    for _ in range(RUNS):
        started = time.perf_counter()
        doc = parse_document(data, "bench.md")
        times.append(time.perf_counter() - started)
    return times, doc


def peak_mib(data: bytes) -> float:
    tracemalloc.start()
    try:
        parse_document(data, "bench.md")
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> int:
    rows = []
    for megabytes in SIZES_MB:
        data = document(megabytes)
        times, doc = timed(data)
        steps = sum(len(r.steps) for r in doc.runbooks)
        rows.append(
            (
                len(data) / 2**20,
                len(doc.runbooks),
                steps,
                min(times),
                statistics.median(times),
                peak_mib(data),
                len(doc.warnings),
            )
        )

    print(f"importer: parse_document, best/median of {RUNS} runs, peak Python memory from tracemalloc")
    print(
        f"{'size':>8} {'runbooks':>9} {'steps':>7} {'best s':>7} {'median s':>9} {'s/MB':>6} {'MB/s':>6}"
        f" {'peak MiB':>9} {'warnings':>9}"
    )
    for size, runbooks, steps, best, median, peak, warnings in rows:
        print(
            f"{size:>6.2f}MB {runbooks:>9} {steps:>7} {best:>7.2f} {median:>9.2f} {best / size:>6.2f}"
            f" {size / best:>6.2f} {peak:>9.1f} {warnings:>9}"
        )

    size, _, _, best, _, peak, _ = rows[-1]
    met = best < TARGET_SECONDS and peak < TARGET_MIB
    print(
        f"\n2 MB target (< {TARGET_SECONDS:.0f} s, < {TARGET_MIB} MiB): {'met' if met else 'NOT met'}"
        f" ({best:.2f} s, {peak:.0f} MiB)"
    )
    per_mb = [best / size for size, _, _, best, *_ in rows]
    growth = per_mb[-1] / per_mb[0]
    linear = growth <= LINEAR_SLACK
    steps = " -> ".join(f"{x:.2f}" for x in per_mb)
    print(
        f"growth: {steps} s/MB from {rows[0][0]:.1f} to {rows[-1][0]:.1f} MB"
        f" (x{growth:.2f}): {'linear' if linear else 'NOT linear'}"
    )
    if hasattr(os, "getloadavg"):
        print(
            "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
