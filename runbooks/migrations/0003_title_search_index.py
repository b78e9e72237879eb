"""A GIN index on the title's own tsvector (PostgreSQL only), for runbooks.search.title_vector().

Search ranks a bounded set of candidates: every runbook whose title matches comes first, and this index finds
them without reading the rows of the runbooks that only mention the word somewhere in their steps.
The expression is exactly what django.contrib.postgres SearchVector("title", config="english") writes.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS runbook_title_vector_gin ON runbooks_runbook "
    "USING gin (to_tsvector('english'::regconfig, COALESCE(title, '')))"
)
DROP = "DROP INDEX IF EXISTS runbook_title_vector_gin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("runbooks", "0002_search_indexes")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
