"""The operator guides of docs/, shown in the console and linked from /setup/ and the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from setup import guides

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
NEEDED = ["getting-started", "alertmanager", "notifications", "deploying", "backup", "upgrading", "api"]


def test_every_guide_the_issue_asks_for_is_there_with_a_title():
    names = [guide.name for guide in guides.GUIDES]
    for name in NEEDED:
        assert name in names
        assert guides.guide(name) is not None, f"docs/{name}.md is missing"
        assert guides.guide(name).title != name


@pytest.mark.parametrize("name", [guide.name for guide in guides.GUIDES] + ["README", "SECURITY"])
def test_each_guide_renders_for_anyone_logged_in_with_links_between_guides_pointing_here(client, viewer, name):
    client.force_login(viewer)
    response = client.get(reverse("setup:guide", args=[name]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<h1>{guides.guide(name).title}</h1>" in html
    assert not re.search(r'href="[^"]*\.md(#[^"]*)?"', html), "a link to a .md file the browser cannot follow"


def test_links_to_other_guides_lead_to_their_pages(client, viewer):
    client.force_login(viewer)
    html = client.get(reverse("setup:guide", args=["alertmanager"])).content.decode()
    assert f'href="{reverse("setup:guide", args=["alerts"])}"' in html


@pytest.mark.parametrize("name", ["nope", "..", "passwd", "architecture-of-nothing", "a" * 300])
def test_an_unknown_guide_is_a_404_and_names_are_never_paths(client, viewer, name):
    client.force_login(viewer)
    assert client.get(f"/setup/guide/{name}/").status_code == 404


def test_the_setup_page_and_the_readme_link_every_guide(client, admin_user, monkeypatch):
    from setup import workers

    monkeypatch.setattr(workers, "_ask_if_any", dict)
    client.force_login(admin_user)
    html = client.get(reverse("setup:page")).content.decode()
    readme = (ROOT / "README.md").read_text()
    for name in NEEDED:
        assert f'href="{reverse("setup:guide", args=[name])}"' in html
        assert f"(docs/{name}.md)" in readme, f"README.md does not link docs/{name}.md"


def test_guides_need_a_login(client):
    response = client.get(reverse("setup:guide", args=["getting-started"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
