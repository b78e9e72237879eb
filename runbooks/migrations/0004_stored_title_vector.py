"""The title's tsvector as a stored generated column with a GIN index (PostgreSQL only), instead of 0003's index.

EXPLAIN (ANALYZE, BUFFERS) at 10,000 runbooks (bench/bench_search.py with BENCH_EXPLAIN=1) showed the expression
index costing at read time: a phrase or an excluded word needs a recheck, and the recheck parsed every title
again (5 ms for 600 titles of '"disk almost full" -frontend'); telling title matches first parsed them once more.
A stored column is read, not parsed, so the title test costs the same as the text test.
Like search_vector, it is kept out of Django's model state: SQLite has no tsvector.
"""

from django.db import migrations

CREATE = [
    "ALTER TABLE runbooks_runbook ADD COLUMN IF NOT EXISTS title_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, COALESCE(title, ''))) STORED",
    "CREATE INDEX IF NOT EXISTS runbook_title_vector_stored_gin ON runbooks_runbook USING gin (title_vector)",
    "DROP INDEX IF EXISTS runbook_title_vector_gin",
]
DROP = [
    "CREATE INDEX IF NOT EXISTS runbook_title_vector_gin ON runbooks_runbook "
    "USING gin (to_tsvector('english'::regconfig, COALESCE(title, '')))",
    "DROP INDEX IF EXISTS runbook_title_vector_stored_gin",
    "ALTER TABLE runbooks_runbook DROP COLUMN IF EXISTS title_vector",
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
    dependencies = [("runbooks", "0003_title_search_index")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
