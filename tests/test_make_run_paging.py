"""make run shows paging: the demo incident's first tier is emailed at once (printed by the console email
backend), the pages show on the incident page, and acknowledging stops the escalation."""

from __future__ import annotations

import re
import time
import urllib.parse
import urllib.request

import pytest

from tests.test_make_run import Console, free_port

pytestmark = pytest.mark.integration


def test_the_demo_pages_the_demo_users_by_email_and_acknowledging_stops_it(tmp_path, worker_processes):
    console = Console(tmp_path / "var", free_port(), CONSOLE_ADMIN_USER="boss",
                      CONSOLE_ADMIN_PASSWORD="correct-horse-battery")
    worker_processes.append(console)
    try:
        status, _ = console.login("boss", "correct-horse-battery")
        assert status == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and console.output.count("To: demo-") < 2:
            time.sleep(0.5)
        out = console.output
        assert "Subject: [SEV2] #1 Demo: checkout latency above SLO" in out, out[-3000:]
        assert "To: demo-commander@example.com" in out and "To: demo-responder@example.com" in out
        assert f"Acknowledge as Demo commander: http://127.0.0.1:{console.port}/ack/" in out

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, page = console.get("/incidents/1/")
            if page.count('data-state="sent"') >= 2:
                break
            time.sleep(0.5)
        assert page.count('data-state="sent"') >= 2, page[-4000:]
        assert "Next page" in page and "unless someone acknowledges" in page

        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        request = urllib.request.Request(console.url("/incidents/1/acknowledge/"), data=urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token}).encode(), headers={"Referer": console.url("/incidents/1/")})
        with console.opener.open(request, timeout=10) as response:
            after = response.read().decode()
        assert "Stopped: acknowledged" in after and "Next page" not in after
        assert console.ctrl_c(within=20) == []
    finally:
        console.kill_everything()
