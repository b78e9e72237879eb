"""Writing many new rows of one model at once, faster than `bulk_create` on PostgreSQL.

`bulk_create` prepares every value of every row through its field (tens of thousands of calls for a thousand
pages) and sends them as one huge INSERT whose parameters psycopg quotes one by one in Python. Here the primary
keys come from the table's sequence in one query and the rows go through `COPY ... FROM STDIN`, whose rows
psycopg formats in C: a tick paging a thousand incidents (incidents/paging.py) and an import of thousands of
steps (runbooks/store.py) spent most of their time in that preparation.

What it does is what `bulk_create(objs)` does for objects made in memory: defaults are the ones the objects
were built with, a foreign key may name an object saved after it was assigned, JSON is encoded with the field's
encoder, and each object gets its primary key. A unique constraint broken fails the whole call, as it does
there. Other databases (SQLite under `make run`) use `bulk_create` itself.

Used by both apps (incidents imports runbooks, never the other way), so it lives in the lower one.
"""

from __future__ import annotations

import json

from django.db import connection, models

BATCH = 5000  # ids asked of the sequence in one go


def insert(objs: list[models.Model]) -> None:
    """INSERT these new objects (all of one model, none saved yet) and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create(objs)
        return
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if f is not pk]
    encoders = [_encoder(f) for f in fields]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(f.column) for f in [pk, *fields])
    with connection.cursor() as cursor:
        ids: list[int] = []
        for start in range(0, len(objs), BATCH):
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [meta.db_table, pk.column, min(BATCH, len(objs) - start)])
            ids += [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608 - model names
            for obj, new_id in zip(objs, ids, strict=True):
                obj._prepare_related_fields_for_save(operation_name="insert")
                row = [new_id]
                for field, encode in zip(fields, encoders, strict=True):
                    value = getattr(obj, field.attname)
                    row.append(encode(value) if encode and value is not None else value)
                copy.write_row(row)
    for obj, new_id in zip(objs, ids, strict=True):
        setattr(obj, pk.attname, new_id)
        obj._state.adding = False
        obj._state.db = connection.alias


def _encoder(field: models.Field):
    """How a value of this field is written, when psycopg's own adaptation would not do."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return lambda value: json.dumps(value, cls=encoder)
    if field.auto_created or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        raise ValueError(f"{field} is set when saving: use bulk_create for {field.model.__name__}")
    return None
