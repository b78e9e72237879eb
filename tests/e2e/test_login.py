from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_commander_logs_in_and_sees_the_dashboard(new_page, commander, tmp_path):
    page = new_page()
    page.goto("/")
    assert "/accounts/login/" in page.url  # anonymous visitors are sent to log in
    page.fill("#id_username", commander.username)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert page.locator(".form-errors").is_visible()
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    assert page.locator("nav.mainnav").get_by_text("Dashboard").is_visible()
    assert page.get_by_role("link", name="Declare incident").is_visible()
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5_000
