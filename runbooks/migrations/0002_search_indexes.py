"""Full-text search and alert lookups for runbooks, on PostgreSQL only (SQLite falls back to LIKE).

A stored generated column `search_vector` holds to_tsvector('english', search_text), with a GIN index over it;
runbooks.search reads it through RawSQL. It is kept out of Django's model state on purpose: SQLite has no
tsvector. A plain expression index was tried first: matching was indexed, but ranking had to re-parse the text
of every matching row, and with 10,000 runbooks a broad query took 575 ms at p95 (bench/bench_search.py).
"""

from django.db import migrations

CREATE = [
    "ALTER TABLE runbooks_runbook ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, COALESCE(search_text, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS runbook_search_vector_gin ON runbooks_runbook USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS runbook_alerts_gin ON runbooks_runbook USING gin (alerts)",
    # The words of the error patterns: matching narrows to runbooks whose patterns share a word with the text
    # before testing containment, instead of testing every pattern of every runbook.
    "CREATE INDEX IF NOT EXISTS runbook_pattern_words_gin ON runbooks_runbook "
    "USING gin (jsonb_to_tsvector('simple'::regconfig, error_patterns, '[\"string\"]'))",
]
DROP = [
    "DROP INDEX IF EXISTS runbook_pattern_words_gin",
    "DROP INDEX IF EXISTS runbook_alerts_gin",
    "DROP INDEX IF EXISTS runbook_search_vector_gin",
    "ALTER TABLE runbooks_runbook DROP COLUMN IF EXISTS search_vector",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("runbooks", "0001_initial")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
