"""The 403, 404 and 500 pages are the console's own: they say what happened and what to do next."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_a_missing_incident_gets_a_page_that_points_to_the_dashboard_and_runbooks(as_user, viewer):
    response = as_user(viewer).get("/incidents/999999/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing at this address" in page and 'href="/"' in page and 'href="/runbooks/"' in page
    assert 'class="mainnav"' in page  # the way back is on the page


def test_a_viewer_who_may_not_declare_is_told_their_role_and_whom_to_ask(as_user, viewer):
    response = as_user(viewer).get("/incidents/declare/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "Your role does not allow this" in page
    assert "signed in as <strong>vera</strong> with the role <strong>Viewer</strong>" in page
    assert "Responder or Commander role" in page


def test_the_server_error_page_renders_without_a_request_context_and_says_what_to_do():
    response = server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "may not have been saved" in page and "reload the page" in page
    assert 'class="mainnav"' not in page  # nobody is known on this page: no menu that could fail again
