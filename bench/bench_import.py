"""Importer figures: parsing big documents, the whole corpus, and storing a 30,000-step document.

1. parse_document on 0.5, 1 and 2 MB documents built from our own sample runbooks: time (best and median
   of a few runs, wall clock), throughput, peak Python memory (tracemalloc, in a separate run because
   tracing slows the parse); whether the 2 MB target (under 2 s and 150 MiB) is met and time grows
   linearly with size. No database: the importer is pure Python.
2. the corpus (../shared/corpus/docs) and the seeds, each document parsed as `import_runbooks` does:
   the time per document and in total (target: under 10 s in total).
3. store_document of a 1-step document (the floor) and of 3,000 and 30,000-step documents, with bulk
   inserts (target: the 30,000-step document in seconds). Needs a database: a throwaway PostgreSQL under
   `python -m tests.services --` (make bench), else a temporary SQLite file.

    .venv/bin/python bench/bench_import.py                      # 1 and 2, and 3 on SQLite
    .venv/bin/python -m tests.services -- .venv/bin/python bench/bench_import.py
    BENCH_IMPORT_PARTS=store ...                                # only some of parse, corpus, store
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
SHARED = ROOT.parent / "shared"
CORPUS_TARGET_SECONDS = 10.0
STORE_SIZES = (1, 3000, 30000)
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


def timed(data: bytes) -> tuple[list[float], list[float], object]:
    """Wall-clock and CPU seconds of each run: on a shared machine the wall clock also counts the time spent
    waiting for a core, so the CPU seconds are nearer what a quiet machine takes."""
    times, cpu = [], []
    doc = None
    for _ in range(RUNS):
        started, started_cpu = time.perf_counter(), time.process_time()
        doc = parse_document(data, "bench.md")
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return times, cpu, doc


def markdown_floor(data: bytes) -> float:
    from runbooks.importer.sections import _MD

    text = data.decode()
    best = float("inf")
    for _ in range(RUNS):
        started = time.process_time()
        _MD.parse(text)
        best = min(best, time.process_time() - started)
    return best


def peak_mib(data: bytes) -> float:
    tracemalloc.start()
    try:
        parse_document(data, "bench.md")
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> int:
    parts = set(os.environ.get("BENCH_IMPORT_PARTS", "parse,corpus,store").split(","))
    if "parse" in parts:
        parse_figures()
    if "corpus" in parts:
        corpus()
    if "store" in parts:
        store()
    if hasattr(os, "getloadavg"):
        print(
            "\nload average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"
        )
    return 0


def parse_figures() -> None:
    rows = []
    for megabytes in SIZES_MB:
        data = document(megabytes)
        times, cpu, doc = timed(data)
        steps = sum(len(r.steps) for r in doc.runbooks)
        rows.append(
            (
                len(data) / 2**20,
                len(doc.runbooks),
                steps,
                min(times),
                statistics.median(times),
                min(cpu),
                peak_mib(data),
                len(doc.warnings),
            )
        )

    print(f"importer: parse_document, best/median of {RUNS} runs, peak Python memory from tracemalloc")
    print(
        f"{'size':>8} {'runbooks':>9} {'steps':>7} {'best s':>7} {'median s':>9} {'cpu s':>6} {'s/MB':>6}"
        f" {'MB/s':>6} {'peak MiB':>9} {'warnings':>9}"
    )
    for size, runbooks, steps, best, median, cpu, peak, warnings in rows:
        print(
            f"{size:>6.2f}MB {runbooks:>9} {steps:>7} {best:>7.2f} {median:>9.2f} {cpu:>6.2f} {best / size:>6.2f}"
            f" {size / best:>6.2f} {peak:>9.1f} {warnings:>9}"
        )

    size, _, _, best, _, cpu, peak, _ = rows[-1]
    met = best < TARGET_SECONDS and peak < TARGET_MIB
    print(
        f"\n2 MB target (< {TARGET_SECONDS:.0f} s, < {TARGET_MIB} MiB): {'met' if met else 'NOT met'}"
        f" ({best:.2f} s, {cpu:.2f} s of CPU, {peak:.0f} MiB)"
    )
    floor = markdown_floor(document(SIZES_MB[-1]))
    print(f"of which markdown-it's block parse alone (the floor for any pass over the tokens): {floor:.2f} s of CPU")
    per_mb = [best / size for size, _, _, best, *_ in rows]
    growth = per_mb[-1] / per_mb[0]
    linear = growth <= LINEAR_SLACK
    steps = " -> ".join(f"{x:.2f}" for x in per_mb)
    print(
        f"growth: {steps} s/MB from {rows[0][0]:.1f} to {rows[-1][0]:.1f} MB"
        f" (x{growth:.2f}): {'linear' if linear else 'NOT linear'}"
    )


def corpus() -> None:
    docs = sorted((SHARED / "corpus" / "docs").glob("*")) + sorted((SHARED / "seeds").glob("*.txt"))
    if not docs:
        print(f"\ncorpus: {SHARED} is not beside the checkout; skipped")
        return
    print(f"\ncorpus and seeds: parse_document per document, best of {RUNS} runs")
    print(f"{'document':<48} {'KB':>6} {'runbooks':>9} {'steps':>6} {'shape':>10} {'best ms':>8}")
    total = 0.0
    for path in docs:
        data = path.read_bytes()
        best = float("inf")
        for _ in range(RUNS):
            started = time.perf_counter()
            doc = parse_document(data, path.name)
            best = min(best, time.perf_counter() - started)
        total += best
        steps = sum(len(r.steps) for r in doc.runbooks)
        print(f"{path.name[:48]:<48} {len(data) / 1024:>6.1f} {len(doc.runbooks):>9} {steps:>6}"
              f" {doc.shape:>10} {best * 1000:>8.1f}")
    met = total < CORPUS_TARGET_SECONDS
    verdict = "met" if met else "NOT met"
    print(f"{len(docs)} documents in {total:.2f} s: the < {CORPUS_TARGET_SECONDS:.0f} s target is {verdict}")


def store() -> None:
    """Store documents of 1, 3,000 and 30,000 steps in a throwaway database."""
    from bench.harness import configure_environ

    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        from bench.harness import fresh_database

        with fresh_database():
            _store_figures("PostgreSQL")
        return
    import tempfile

    configure_environ()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
        _store_figures("SQLite (a temporary file)", migrate=True)


def _store_figures(engine: str, *, migrate: bool = False) -> None:
    from bench.harness import django_setup

    django_setup()
    from django.core.management import call_command

    if migrate:
        call_command("migrate", "--noinput", verbosity=0)
    import runbooks.store as store_module
    from runbooks.importer.types import ImportedCommand, ImportedDocument, ImportedRunbook, ImportedStep
    from runbooks.store import store_document

    judging = [0.0]
    judge = store_module.is_destructive

    def timed_judge(text: str, language: str) -> bool:
        started = time.perf_counter()
        try:
            return judge(text, language)
        finally:
            judging[0] += time.perf_counter() - started

    store_module.is_destructive = timed_judge
    print(f"\nstore_document on {engine}: one runbook of N steps (bulk inserts); 'of which judged' is the time")
    print("spent in runbooks.destructive.is_destructive (a shell parse per distinct command)")
    print(f"{'steps':>7} {'commands':>9} {'first store s':>14} {'cpu s':>6} {'of which judged s':>18}"
          f" {'again (unchanged) s':>20}")
    for n, every in ((STORE_SIZES[0], 1), *((n, 1) for n in STORE_SIZES[1:]), (STORE_SIZES[-1], 10)):
        steps = [
            ImportedStep(phase="investigation", heading="Checks", text=f"Check shard {i}",
                         commands=[ImportedCommand("bash", f"kubectl -n shard-{i} get pods")] if i % every == 0 else [])
            for i in range(n)
        ]
        doc = ImportedDocument(source=f"bench-{n}-{every}.md", title="Bench",
                               runbooks=[ImportedRunbook(title=f"Bench {n} {every}", steps=steps)])
        judging[0] = 0.0
        started, started_cpu = time.perf_counter(), time.process_time()
        store_document(doc)
        first, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        judged = judging[0]
        started = time.perf_counter()
        store_document(doc)
        again = time.perf_counter() - started
        print(f"{n:>7} {len(range(0, n, every)):>9} {first:>14.2f} {cpu:>6.2f} {judged:>18.2f} {again:>20.2f}")


if __name__ == "__main__":
    sys.exit(main())
