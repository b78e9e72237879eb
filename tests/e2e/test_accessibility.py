"""axe-core (vendored, tests/e2e/vendor/) in every page, light and dark: no serious or critical violation, text
contrast included (WCAG 2.1 AA: 4.5:1), severity badges and the wall's tiles among it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.site_pages import build_pages, logged_out_pages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
RUN = """(exclude) => axe.run({exclude: exclude}, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]})
  .then(result => result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + " (" + v.impact + "): " + v.help + " — " +
              v.nodes.slice(0, 3).map(n => n.target.join(" ") + (n.failureSummary ? " [" +
                n.failureSummary.split("\\n").slice(1, 2).join("") + "]" : "")).join("; ")))"""


# Third-party widgets the console embeds unmodified and cannot fix: Swagger UI's operation list nests its
# buttons and colours its method badges itself (the page around it is checked).
NOT_OURS = {"api-docs": ["#swagger-ui"]}


def audit(page, name: str, path: str) -> list[str]:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.evaluate(AXE.read_text())  # evaluated by the browser's devtools protocol: the page's CSP allows no script
    return page.evaluate(RUN, NOT_OURS.get(name, []))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe_core_without_serious_violations(admin_user, commander, responder, viewer, new_page,
                                                                scheme):
    pages = build_pages(admin_user, commander, responder)
    found: dict[str, list[str]] = {}
    for who, paths in ((admin_user, pages), (viewer, [("forbidden", "/incidents/declare/")]),
                       (None, logged_out_pages())):
        page = new_page(who, color_scheme=scheme)
        page.emulate_media(reduced_motion="reduce")  # the wall's flashing tile, read at rest
        for name, path in paths:
            if problems := audit(page, name, path):
                found[name] = problems
    assert found == {}, "\n".join(f"{name}: {problem}" for name, problems in found.items() for problem in problems)
