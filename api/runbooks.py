"""/api/v1/runbooks/: list and search runbooks, and match an alert or error text to them."""

from __future__ import annotations

from ninja import Query, Router
from pydantic import BaseModel, Field

from runbooks.matching import match_runbooks
from runbooks.models import Runbook
from runbooks.search import clean_query, search_runbooks

from .core import ApiError, need, user_token
from .schemas import Error, MatchOut, RunbookList, text

router = Router(auth=user_token, tags=["runbooks"])
ERRORS = {400: Error, 401: Error, 403: Error, 429: Error}


def runbook_out(runbook: Runbook, request) -> dict:
    return {"slug": runbook.slug, "key": runbook.key, "title": runbook.title,
            "service": runbook.service.name if runbook.service_id and runbook.service else None,
            "alerts": [str(a) for a in runbook.alerts or []], "summary": runbook.summary, "version": runbook.version,
            "url": request.build_absolute_uri(runbook.get_absolute_url())}


class RunbookFilter(BaseModel):
    q: text(0, 500) = Field(default="", description='Search words, e.g. "disk full" -nginx')
    service: text(0, 200) | None = None
    alert: text(0, 200) | None = Field(default=None, description="An alert name the runbook answers")
    limit: int = Field(default=50, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=1_000_000)


@router.get("/", response={200: RunbookList, **ERRORS}, url_name="runbooks")
def list_runbooks(request, filters: Query[RunbookFilter]):
    """Runbooks by title, or the best matches for `q` first."""
    need(request, "runbooks.view_runbook", "read runbooks")
    found = search_runbooks(clean_query(filters.q), service=filters.service, alert=filters.alert)
    rows = list(found[filters.offset:filters.offset + filters.limit])
    count = found.order_by().values("pk")[:10_001].count()
    return {"count": count, "limit": filters.limit, "offset": filters.offset,
            "results": [runbook_out(r, request) for r in rows]}


class MatchQuery(BaseModel):
    q: text(0, 20_000) = Field(default="", description="An alert name, or pasted error text or log lines")
    alertname: text(0, 200) = ""
    service: text(0, 200) = ""
    limit: int = Field(default=10, ge=1, le=50)


@router.get("/match/", response={200: list[MatchOut], **ERRORS}, url_name="runbooks_match")
def match(request, query: Query[MatchQuery]):
    """Runbooks that answer an alert or an error text, best first, each with the reasons it matched."""
    need(request, "runbooks.view_runbook", "read runbooks")
    if not (query.q.strip() or query.alertname.strip() or query.service.strip()):
        raise ApiError(400, "Give q (an alert name or error text), alertname or service.")
    labels = {k: v for k, v in (("alertname", query.alertname), ("service", query.service)) if v.strip()}
    matches = match_runbooks(query.q, labels=labels, limit=query.limit)
    return [{"runbook": runbook_out(m.runbook, request), "score": m.score, "reasons": m.reasons} for m in matches]
