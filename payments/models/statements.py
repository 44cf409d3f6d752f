"""The charge's own statements, written once from the models' metadata.

Django compiles every query anew from its query tree. On the charge's path that compiling
cost more than running the statements: each insert, update or lookup spent about a
millisecond of CPU in the ORM and a few tenths in the database driver
(benchmarks/charge.py measures the whole). The statements here are built once per model
from the same metadata the ORM reads (tables, columns, each field's conversion of its
value) and sent on the ORM's own connection, inside the caller's transaction, on
PostgreSQL and SQLite alike. Only what each charge runs lives here (the register's key
found by its digest, inserts, updates by primary key); every other query stays with the
ORM.

Every statement is a round trip, and on PostgreSQL each costs the server a parse, a plan
and an execution besides. So PostgreSQL gets rows that belong together in one statement (a
data-modifying WITH: a payment with its first event, an answer's update with its journal
rows and event), atomic on its own without BEGIN and COMMIT, and a batch of any size as one
array per column, a statement whose text never changes.
"""

import contextlib
import functools
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)

# Values one statement may carry: SQLite takes at most 32,766, PostgreSQL 65,535.
MAX_PARAMETERS = 30_000


def insert(rows: Sequence[Model]) -> None:
    """Insert new rows of one model in one statement (a few, for a batch of more values
    than one takes) and give them their primary keys, as `bulk_create` does (field
    defaults, `auto_now_add`; no signals are sent)."""
    if not rows:
        return
    db = _database()
    if not db.features.can_return_rows_from_bulk_insert:
        for row in rows:  # a SQLite older than 3.35 has no RETURNING
            row.save(force_insert=True)
        return
    model = type(rows[0])
    fields, head, tail = _insert_sql(model, db.vendor)
    if len(rows) > 1 and db.vendor == "postgresql":
        # One array per column: the statement's text is the same for every batch, so the
        # driver converts it and the server plans it once, whatever the batch's size.
        _insert_some(db, rows, fields, _insert_from_arrays_sql(model), True)
        return
    row_values = f"({', '.join(['%s'] * len(fields))})"
    per_statement = max(1, MAX_PARAMETERS // len(fields))
    for start in range(0, len(rows), per_statement):
        some = rows[start : start + per_statement]
        sql = f"{head} VALUES {', '.join([row_values] * len(some))} {tail}"
        _insert_some(db, some, fields, sql, False)


def _insert_some(
    db: BaseDatabaseWrapper, rows: Sequence[Model], fields: list[Field], sql: str, by_column: bool
) -> None:
    values = [_values(db, row, fields, adding=True) for row in rows]
    params = (
        [list(column) for column in zip(*values, strict=True)]
        if by_column
        else [v for row in values for v in row]
    )
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    for row, (key,) in zip(rows, keys, strict=True):
        _keyed(db, row, key)


def _arrays(db: BaseDatabaseWrapper, fields: Sequence[Field]) -> list[str]:
    """A PostgreSQL array parameter for each field's values (sent in binary: no quoting of
    every element)."""
    return [f"(%b)::{_type(db, field)}[]" for field in fields]


def _type(db: BaseDatabaseWrapper, field: Field) -> str:
    """The column's type without its length: varchar, not varchar(32), whose cast would cut
    what is too long instead of refusing it."""
    return str(field.db_type(db)).split("(")[0]


# --- the models' metadata, as this module reads it ---------------------------------------
# Django types a name's field and a field's column loosely (a relation, None); every name
# this module is given is a concrete field with a column, and these say so once.


def _field(model: type[Model], name: str) -> Field:
    field = model._meta.get_field(name)
    assert isinstance(field, Field), f"{model.__name__}.{name} is not a concrete field"
    return field


def _pk(model: type[Model]) -> Field:
    pk = model._meta.pk
    assert pk is not None
    return pk


def _column(field: Field) -> str:
    assert field.column is not None
    return field.column


def _parent(model: type[Model], link: str) -> type[Model]:
    """The model the foreign key `link` points to."""
    parent = _field(model, link).related_model
    assert isinstance(parent, type)
    assert issubclass(parent, Model)
    return parent


def _foreign_key(model: type[Model], name: str) -> models.ForeignKey:
    field = model._meta.get_field(name)
    assert isinstance(field, models.ForeignKey)
    return field


def first(model: type[M], where: Mapping[str, Any], *, joined: str) -> M | None:
    """The row of `model` whose fields hold these values (None: the field is empty), with
    the row its foreign key `joined` points to, read in the same statement; None if there
    is no such row. Meant for a unique lookup: of several, any one comes back."""
    db = _database()
    names = tuple((name, value is None) for name, value in where.items())
    sql, own, parents = _select_sql(model, names, joined, db.vendor)
    params = [
        _prepared(db, model, name, value) for name, value in where.items() if value is not None
    ]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    if found is None:
        return None
    values = _from_database(db, [*own, *parents], found)
    parent_model = _parent(model, joined)
    row = model.from_db(db.alias, [f.attname for f in own], values[: len(own)])
    parent = parent_model.from_db(db.alias, [f.attname for f in parents], values[len(own) :])
    setattr(row, joined, parent)
    return row


def _from_database(db: BaseDatabaseWrapper, fields: list[Field], found: Sequence[Any]) -> list:
    """The values as the ORM would give them: through the backend's and the fields' own
    converters (SQLite hands back text for times, for one)."""
    values = []
    for field, value in zip(fields, found, strict=True):
        column = field.get_col(field.model._meta.db_table)
        for convert in db.ops.get_db_converters(column) + column.get_db_converters(db):
            value = convert(value, column, db)
        values.append(value)
    return values


def update(row: Model, names: Iterable[str], *, where: Mapping[str, Any] | None = None) -> bool:
    """Write these fields of the row (and its `auto_now` ones); with `where`, only if the
    row still holds those values then. True when the row was written."""
    db = _database()
    sql, params = _guarded_update(db, row, names, where or {})
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def together() -> bool:
    """Whether `insert_with` and `update_with` write in one statement (PostgreSQL's
    data-modifying WITH), atomic on its own. Elsewhere they write one statement after the
    other, and the caller holds a transaction around them."""
    return _database().vendor == "postgresql"


def atomic_together() -> AbstractContextManager:
    """What to hold around `insert_with` or `update_with` so that a failure undoes all of
    it and leaves the caller's transaction usable: nothing on PostgreSQL outside a
    transaction (one statement is atomic on its own), else a transaction or savepoint."""
    if together() and not _database().in_atomic_block:
        return contextlib.nullcontext()
    return transaction.atomic()


def insert_with(parent: Model, children: Sequence[Model], *, link: str) -> None:
    """Insert a new row and new rows that point to it through their foreign key `link`,
    giving each its primary key."""
    db = _database()
    if not together():
        insert([parent])
        for child in children:
            setattr(child, link, parent)
            insert([child])
        return
    fields, head, tail = _insert_sql(type(parent), db.vendor)
    values = ", ".join(["%s"] * len(fields))
    first = ("parent", f"{head} VALUES ({values}) {tail}", _column(_pk(type(parent))))
    params = _values(db, parent, fields, adding=True)
    keys = _run_together(db, first, params, children, link=link)
    assert keys is not None  # an insert of one row returns it
    _keyed(db, parent, keys[0])
    for child, key in zip(children, keys[1:], strict=True):
        setattr(child, link, parent)
        _keyed(db, child, key)


def update_with(
    row: Model, names: Iterable[str], *, where: Mapping[str, Any], children: Sequence[Model]
) -> bool:
    """The guarded `update`, and new rows (already pointing to the row) inserted only if it
    wrote it. True when it did."""
    db = _database()
    if not together():
        if not update(row, names, where=where):
            return False
        for child in children:
            insert([child])
        return True
    sql, params = _guarded_update(db, row, names, where)
    pk = _column(_pk(type(row)))
    first = ("written", f"{sql} RETURNING {db.ops.quote_name(pk)}", pk)
    keys = _run_together(db, first, params, children, link=None)
    if keys is None:
        return False
    for child, key in zip(children, keys[1:], strict=True):
        _keyed(db, child, key)
    return True


def update_many_with(
    rows: Sequence[Model],
    names: Iterable[str],
    *,
    where: Sequence[Mapping[str, Any]],
    children: Sequence[Model],
    link: str,
) -> set[Any]:
    """The guarded `update` of several rows of one model (`where[i]` guards `rows[i]`,
    every guard naming the same fields), and new rows pointing to them through their
    foreign key `link`, each inserted only if its row was written: on PostgreSQL one
    statement whatever their number. The keys of the rows written."""
    if len(rows) == 1:
        return (
            {rows[0].pk}
            if update_with(rows[0], names, where=where[0], children=children)
            else set()
        )
    db = _database()
    if not together():
        written = {
            row.pk
            for row, guard in zip(rows, where, strict=True)
            if update(row, names, where=guard)
        }
        kept = [child for child in children if _linked_key(child, link) in written]
        for kind in dict.fromkeys(type(child) for child in kept):
            insert([child for child in kept if type(child) is kind])
        return written
    model = type(rows[0])
    guards = tuple(where[0]) if where else ()
    fields, _ = _update_sql(model, tuple(names), (), db.vendor)
    kinds = tuple(dict.fromkeys(type(child) for child in children))
    sql = _update_many_with_sql(model, tuple(f.name for f in fields), guards, kinds, link)
    columns = [
        [
            *_values(db, row, fields, adding=False),
            *(_prepared(db, model, name, guard[name]) for name in guards),
            row.pk,
        ]
        for row, guard in zip(rows, where, strict=True)
    ]
    params: list[Any] = [list(column) for column in zip(*columns, strict=True)]
    for kind in kinds:
        theirs = [child for child in children if type(child) is kind]
        given = [
            _values(db, child, _insert_sql(kind, db.vendor)[0], adding=True) for child in theirs
        ]
        params += [list(column) for column in zip(*given, strict=True)]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return {key for (key,) in cursor.fetchall()}


def _linked_key(child: Model, link: str) -> Any:
    return getattr(child, _foreign_key(type(child), link).attname)


@functools.cache
def _update_many_with_sql(
    model: type[Model],
    names: tuple[str, ...],
    guards: tuple[str, ...],
    children: tuple[type[Model], ...],
    link: str,
) -> str:
    """PostgreSQL's `update_many_with`: one WITH whose text depends only on what is
    written, never on how many rows. The update takes one array per written field, per
    guard and of the keys; each child model's insert one array per column, keeping the
    rows whose link is among the keys written."""
    db = _database()
    quote = db.ops.quote_name
    table = quote(model._meta.db_table)
    key = quote(_column(_pk(model)))
    written = [_field(model, name) for name in names]
    guarded = [_field(model, name) for name in guards]
    aliases = [f"v{i}" for i in range(len(written))]
    guard_aliases = [f"g{i}" for i in range(len(guarded))]
    assignments = ", ".join(
        f"{quote(_column(f))} = given.{alias}" for f, alias in zip(written, aliases, strict=True)
    )
    conditions = [f"{table}.{key} = given.k"] + [
        f"{table}.{quote(_column(f))} = given.{alias}"
        for f, alias in zip(guarded, guard_aliases, strict=True)
    ]
    arrays = _arrays(db, [*written, *guarded, _pk(model)])
    parts = [
        f"written AS (UPDATE {table} SET {assignments}"
        f" FROM UNNEST({', '.join(arrays)}) AS given({', '.join([*aliases, *guard_aliases, 'k'])})"
        f" WHERE {' AND '.join(conditions)} RETURNING {table}.{key})"
    ]
    for number, child in enumerate(children):
        fields, head, _ = _insert_sql(child, db.vendor)
        columns = [f"c{i}" for i in range(len(fields))]
        linked = columns[fields.index(_foreign_key(child, link))]
        parts.append(
            f"c{number} AS ({head} SELECT * FROM UNNEST({', '.join(_arrays(db, fields))})"
            f" AS given({', '.join(columns)}) WHERE given.{linked} IN (SELECT {key} FROM written))"
        )
    return f"WITH {', '.join(parts)} SELECT {key} FROM written"


def _run_together(
    db: BaseDatabaseWrapper,
    first: tuple[str, str, str],
    params: list[Any],
    children: Sequence[Model],
    *,
    link: str | None,
) -> list[Any] | None:
    """Run one WITH: the `first` part (its name, statement and the primary key column it
    returns; `params` are its parameters), then an insert of each child once per row that
    part returned (its foreign key `link`, if given, taken from that row). The key each
    part returned, or None when the first returned none (and so no child was inserted)."""
    sql, given = _together_sql(*first, tuple(type(child) for child in children), link)
    params = list(params)
    for child, fields in zip(children, given, strict=True):
        params += _values(db, child, fields, adding=True)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    return list(found) if found is not None else None


@functools.cache
def _together_sql(
    source: str, statement: str, key: str, children: tuple[type[Model], ...], link: str | None
) -> tuple[str, list[list[Field]]]:
    """The WITH's text (the same for every charge, so it is written once), and the fields
    whose values each child gives as parameters."""
    quote = _database().ops.quote_name
    parts, given = [(source, statement, key)], []
    for number, model in enumerate(children):
        linked = _foreign_key(model, link) if link is not None else None
        fields = _insert_sql(model, "postgresql")[0]
        given.append([f for f in fields if f != linked])
        parts.append((f"c{number}", _insert_from(model, source, linked), _column(_pk(model))))
    named = ", ".join(f"{name} AS ({sql})" for name, sql, _ in parts)
    keys = ", ".join(f"{name}.{quote(column)}" for name, _, column in parts)
    froms = ", ".join(name for name, _, _ in parts)
    return f"WITH {named} SELECT {keys} FROM {froms}", given


def _insert_from(model: type[Model], source: str, linked: models.ForeignKey | None) -> str:
    """An insert of one row of `model` that happens once per row of `source` (a part of the
    same WITH): its values are parameters, cast to their columns' types (a SELECT list
    does not take them from the columns), except `linked`, the source's primary key."""
    db = _database()
    fields, head, tail = _insert_sql(model, db.vendor)
    values = [
        f"{source}.{db.ops.quote_name(_column(linked.target_field))}"
        if linked is not None and f == linked
        else f"%s::{_type(db, f)}"
        for f in fields
    ]
    return f"{head} SELECT {', '.join(values)} FROM {source} {tail}"


def _guarded_update(
    db: BaseDatabaseWrapper, row: Model, names: Iterable[str], where: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    """The UPDATE of these fields of the row (and its `auto_now` ones) that holds only
    while the row has the values of `where`, and its parameters."""
    model = type(row)
    fields, sql = _update_sql(model, tuple(names), tuple(where), db.vendor)
    params = _values(db, row, fields, adding=False)
    params += [_prepared(db, model, name, value) for name, value in where.items()]
    params.append(row.pk)
    return sql, params


# Fields whose conversion for the database gives back a value of this exact type unchanged
# (a CharField's str, an IntegerField's int): the ORM's chain of calls for it is most of the
# CPU of writing a batch, and it is skipped for them. Only these classes themselves, not
# their subclasses, which may convert otherwise.
_KEPT_AS_IS: dict[type[Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
}


def _values(db: BaseDatabaseWrapper, row: Model, fields: Sequence[Field], *, adding: bool) -> list:
    """The row's values for these fields, as the database takes them (`pre_save`, then
    `get_db_prep_save` where it could change anything)."""
    values = []
    for field in fields:
        value = field.pre_save(row, adding)
        if type(value) is not _KEPT_AS_IS.get(type(field)):
            value = field.get_db_prep_save(value, db)
        values.append(value)
    return values


def _keyed(db: BaseDatabaseWrapper, row: Model, key: Any) -> None:
    row.pk = key
    row._state.adding, row._state.db = False, db.alias


def update_many(rows: Sequence[Model], names: Iterable[str]) -> None:
    """Write these fields of several rows of one model: one prepared statement sent for all
    of them at once. (Django's `bulk_update` builds a CASE per field and row: it was most
    of reconcile's time on a batch.)"""
    if not rows:
        return
    db = _database()
    model = type(rows[0])
    fields, sql = _update_sql(model, tuple(names), (), db.vendor)
    params = [[*_values(db, row, fields, adding=False), row.pk] for row in rows]
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            # One statement for all of them, its text the same whatever their number.
            sql = _update_from_arrays_sql(model, tuple(f.name for f in fields))
            cursor.execute(sql, [list(column) for column in zip(*params, strict=True)])
        else:
            cursor.executemany(sql, params)


def _database() -> BaseDatabaseWrapper:
    """This thread's connection itself: `django.db.connection` is a proxy that looks it up
    again on every attribute, thousands of times in a statement's values."""
    return connections[DEFAULT_DB_ALIAS]


def _prepared(db: BaseDatabaseWrapper, model: type[Model], name: str, value: Any) -> Any:
    return _field(model, name).get_db_prep_value(value, db)


@functools.cache
def _insert_sql(model: type[Model], vendor: str) -> tuple[list[Field], str, str]:
    """The fields an insert writes, and its statement before and after the VALUES rows."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = _database().ops.quote_name
    columns = ", ".join(quote(_column(f)) for f in fields)
    # Every backend this service runs on has it (PostgreSQL, SQLite 3.35+).
    ops = _database().ops
    returning, _ = ops.return_insert_columns([_pk(model)])  # type: ignore[attr-defined]
    return fields, f"INSERT INTO {quote(meta.db_table)} ({columns})", returning


@functools.cache
def _insert_from_arrays_sql(model: type[Model]) -> str:
    """PostgreSQL's insert of many rows from one array per column."""
    fields, head, tail = _insert_sql(model, "postgresql")
    return f"{head} SELECT * FROM UNNEST({', '.join(_arrays(_database(), fields))}) {tail}"


@functools.cache
def _select_sql(
    model: type[Model], names: tuple[tuple[str, bool], ...], joined: str, vendor: str
) -> tuple[str, list[Field], list[Field]]:
    """The statement of `first`, and the fields of the row and of its parent, in order."""
    meta = model._meta
    relation, parent = _field(model, joined), _parent(model, joined)
    parent_meta = parent._meta
    quote = _database().ops.quote_name
    table, parent_table = quote(meta.db_table), quote(parent_meta.db_table)
    own, parents = list(meta.concrete_fields), list(parent_meta.concrete_fields)
    columns = [f"{table}.{quote(_column(f))}" for f in own]
    columns += [f"{parent_table}.{quote(_column(f))}" for f in parents]
    conditions = [
        f"{table}.{quote(_column(_field(model, name)))} {'IS NULL' if empty else '= %s'}"
        for name, empty in names
    ]
    parent_key = quote(_column(_pk(parent)))
    sql = (
        f"SELECT {', '.join(columns)} FROM {table} INNER JOIN {parent_table}"
        f" ON {table}.{quote(_column(relation))} = {parent_table}.{parent_key}"
        f" WHERE {' AND '.join(conditions)} LIMIT 1"
    )
    return sql, own, parents


@functools.cache
def _update_sql(
    model: type[Model], names: tuple[str, ...], guards: tuple[str, ...], vendor: str
) -> tuple[list[Field], str]:
    meta = model._meta
    written = dict.fromkeys(names)
    written.update(dict.fromkeys(f.name for f in meta.concrete_fields if _auto_now(f)))
    fields = [_field(model, name) for name in written]
    quote = _database().ops.quote_name
    assignments = ", ".join(f"{quote(_column(f))} = %s" for f in fields)
    conditions = [f"{quote(_column(_field(model, name)))} = %s" for name in guards]
    conditions.append(f"{quote(_column(_pk(model)))} = %s")
    table = quote(meta.db_table)
    return fields, f"UPDATE {table} SET {assignments} WHERE {' AND '.join(conditions)}"


@functools.cache
def _update_from_arrays_sql(model: type[Model], names: tuple[str, ...]) -> str:
    """PostgreSQL's update of many rows from one array per column (the primary keys last)."""
    meta = model._meta
    db = _database()
    quote = db.ops.quote_name
    fields = [_field(model, name) for name in names] + [_pk(model)]
    aliases = [f"v{i}" for i in range(len(fields))]
    assignments = ", ".join(
        f"{quote(_column(f))} = given.{alias}"
        for f, alias in zip(fields[:-1], aliases, strict=False)
    )
    table = quote(meta.db_table)
    return (
        f"UPDATE {table} SET {assignments}"
        f" FROM UNNEST({', '.join(_arrays(db, fields))}) AS given({', '.join(aliases)})"
        f" WHERE {table}.{quote(_column(_pk(model)))} = given.{aliases[-1]}"
    )


def _auto_now(field: Field) -> bool:
    return bool(getattr(field, "auto_now", False))
