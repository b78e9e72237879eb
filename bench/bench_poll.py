"""The incident page's poll right after a change: what ten people watching one incident cost, in-process.

    .venv/bin/python -m tests.services -- .venv/bin/python bench/bench_poll.py

Every change (a note, a tick) makes each viewer's next poll return the live fragments. With the page cache
on (PAGE_CACHE_SECONDS, as deployed) viewers with the same permissions who saw the same events share one
render (incidents/pagecache.py); with it off each renders its own, as every poll did before. Rounds alternate
the two; figures are CPU milliseconds of this process (the test client, no network), medians, beside ten
requests of the trivial view for scale. The soak (bench_soak.py) measures the same poll under load.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import django_setup, fresh_database  # noqa: E402

VIEWERS = int(os.environ.get("BENCH_VIEWERS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "8"))


def main() -> None:
    with fresh_database():
        django_setup()
        from django.conf import settings
        from django.contrib.auth.models import Group, User
        from django.test import Client
        from django.urls import reverse

        from accounts.roles import COMMANDER, VIEWER
        from incidents.models import Incident
        from tests.factories import declare_queue_incident

        settings.ALLOWED_HOSTS = ["*"]
        settings.AUTH_MEMO_SECONDS = 10  # as deployed
        settings.STORAGES = {**settings.STORAGES, "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # no collectstatic here
        cora = User.objects.create_user("cora", password="pw")
        cora.groups.add(Group.objects.get(name=COMMANDER))
        incident = declare_queue_incident(cora, commander=cora)
        viewers = []
        for n in range(VIEWERS):
            user = User.objects.create_user(f"viewer{n}", password="pw")
            user.groups.add(Group.objects.get(name=VIEWER))
            client = Client()
            client.force_login(user)
            client.get(incident.get_absolute_url())
            viewers.append(client)
        url = reverse("incidents:poll", args=[incident.pk])
        figures: dict[str, list[float]] = {"rendered for each viewer": [], "shared (as deployed)": [],
                                           "trivial view": []}
        for n in range(ROUNDS):
            for name, seconds in (("rendered for each viewer", 0), ("shared (as deployed)", 90)):
                settings.PAGE_CACHE_SECONDS = seconds
                revision = Incident.objects.get(pk=incident.pk).revision
                incident.add_note(f"note {n} {seconds}", by=cora)
                started = time.process_time()
                for client in viewers:
                    response = client.get(f"{url}?rev={revision}&after=0", HTTP_HX_REQUEST="true")
                    if response.status_code != 200:
                        raise SystemExit(f"poll: HTTP {response.status_code}")
                figures[name].append((time.process_time() - started) * 1000)
            started = time.process_time()
            for client in viewers:
                client.get("/bench/trivial/")
            figures["trivial view"].append((time.process_time() - started) * 1000)

    print(f"poll after a change, {VIEWERS} viewers of one incident: CPU ms for all of them, median of {ROUNDS}")
    for name, values in figures.items():
        print(f"  {name:<26} {statistics.median(values):7.1f} ms")
    shared, each = statistics.median(figures["shared (as deployed)"]), statistics.median(
        figures["rendered for each viewer"])
    print(f"  shared / each: {shared / each:.0%}")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
