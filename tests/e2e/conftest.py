"""Playwright driving the system Chromium against pytest-django's live server; one browser per session."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import need

LAUNCH_ARGS = ["--headless=new", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--no-sandbox", "--disable-quic"]


def _served_as_in_production(application):
    """Instead of the live server's own static handler (the finders, which know no hashed names): WhiteNoise in
    the middleware serves the collected files, as in production."""
    return application


@pytest.fixture(scope="session")
def live_server(_collected_static):
    """pytest-django's live server on plain HTTP (production sits behind a TLS proxy), with production's settings
    but SECURE_SSL_REDIRECT, which its SecurityMiddleware reads once, as the server starts. Chromium keeps the
    console's Secure cookies on http://localhost, a secure context."""
    from django.test import override_settings
    from pytest_django.live_server_helper import LiveServer

    with override_settings(SECURE_SSL_REDIRECT=False):
        server = LiveServer("localhost", start=False)
        server.thread.static_handler = _served_as_in_production
        server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    need(bool(path), "browser tests need Chromium (make test installs it when root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(user) -> a Playwright page in a fresh context, logged in as that user through the form."""
    contexts = []

    def open_page(user=None, *, color_scheme: str = "light", width: int = 1440, height: int = 900):
        context = browser.new_context(base_url=live_server.url, color_scheme=color_scheme,
                                      viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if user is not None:
            page.goto("/accounts/login/")
            page.fill("#id_username", user.username)
            page.fill("#id_password", "pw")
            page.click("button[type=submit]")
            page.wait_for_url(f"{live_server.url}/")
        return page

    yield open_page
    for context in contexts:
        context.close()
