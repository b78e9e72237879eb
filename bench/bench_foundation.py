"""Foundation figures: the trivial view (baseline), /healthz and the login page, plus worker memory."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import Server, fresh_database, load, print_table  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))


def main() -> None:
    with fresh_database(), Server(workers=2) as server:
        rows = [
            load(server, "/bench/trivial/", name="trivial", seconds=SECONDS),
            load(server, "/healthz", name="healthz", seconds=SECONDS),
            load(server, "/accounts/login/", name="login page", seconds=SECONDS),
        ]
        rss = server.worker_rss()
    print_table(rows, title="foundation (gunicorn, 2 sync workers, 8 connections)")
    print("worker RSS: " + ", ".join(f"{size / 2**20:.0f} MiB" for size in rss))


if __name__ == "__main__":
    main()
