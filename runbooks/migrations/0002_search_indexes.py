"""GIN indexes for runbook search and matching, on PostgreSQL only (SQLite has no GIN; it falls back to LIKE).

The full-text expression must stay identical to what runbooks.search builds with
SearchVector("search_text", config="english"), or PostgreSQL will not use the index.
"""

from django.db import migrations

INDEXES = [
    (
        "runbook_search_text_fts",
        "CREATE INDEX IF NOT EXISTS runbook_search_text_fts ON runbooks_runbook "
        "USING gin (to_tsvector('english'::regconfig, COALESCE(search_text, '')))",
    ),
    ("runbook_alerts_gin", "CREATE INDEX IF NOT EXISTS runbook_alerts_gin ON runbooks_runbook USING gin (alerts)"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _name, sql in INDEXES:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _sql in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("runbooks", "0001_initial")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
