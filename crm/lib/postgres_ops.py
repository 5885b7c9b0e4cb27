"""Migration operations that run on PostgreSQL only, for what SQLite has no use for or cannot
build (a GIN index with trigram operator classes). They leave the models' state alone: the
index is the database's affair, invisible to Django's autodetector, so `makemigrations --check`
is clean on either database and a later migration that remakes a table on SQLite never tries to
build a GIN index there. On PostgreSQL they run as `AddIndex` / `RemoveIndex` would.
`AlterFieldUniqueDropped` is the exception: an `AlterField` in the state and on SQLite, which on
PostgreSQL does only the one cheap thing the change needs."""

from django.contrib.postgres.operations import TrigramExtension
from django.db.migrations.operations import AddIndex, AlterField, RemoveIndex, RunSQL
from django.db.migrations.operations.models import IndexOperation
from django.db.models import Index


class TrigramExtensionOnPostgres(TrigramExtension):
    """`pg_trgm` on PostgreSQL; nothing on another database, either way (Django's own skips
    another database forwards only: backwards it asks SQLite for `pg_extension`)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class RunSQLOnPostgres(RunSQL):
    """SQL for PostgreSQL alone (statistics objects, say); nothing on another database."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class _IndexOnPostgres(IndexOperation):
    """What the two index operations share: no state, PostgreSQL only, `CONCURRENTLY`."""

    model_name: str
    index: Index  # RemoveIndex knows only its name: RemoveIndexOnPostgres keeps it whole

    def state_forwards(self, app_label, state):
        pass

    def _concurrently(self, schema_editor, state, app_label, *, build: bool) -> None:
        """Build (or drop) the index with the model as `state` has it; nothing elsewhere."""
        if schema_editor.connection.vendor != "postgresql":
            return
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if build:
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index, concurrently=True)

    def describe(self):
        return f"{super().describe()} (PostgreSQL only)"

    @property
    def migration_name_fragment(self):
        return f"{super().migration_name_fragment}_pg"


class AddIndexOnPostgres(_IndexOnPostgres, AddIndex):
    """`AddIndex` on PostgreSQL; nothing on another database, and nothing in the state.
    Built `CONCURRENTLY` (the migration must say `atomic = False`): a big table keeps taking
    writes — the intake goes on — while its index is built."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._concurrently(schema_editor, to_state, app_label, build=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._concurrently(schema_editor, from_state, app_label, build=False)


class RemoveIndexOnPostgres(_IndexOnPostgres, RemoveIndex):
    """The reverse of `AddIndexOnPostgres`: drops, `CONCURRENTLY`, an index one made (the
    index is given whole, so that going backwards builds it again); nothing elsewhere and
    nothing in the state."""

    def __init__(self, model_name, index):
        super().__init__(model_name, index.name)
        self.index = index

    def deconstruct(self):
        return self.__class__.__name__, [], {"model_name": self.model_name, "index": self.index}

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._concurrently(schema_editor, from_state, app_label, build=False)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._concurrently(schema_editor, to_state, app_label, build=True)


class AlterFieldUniqueDropped(AlterField):
    """`AlterField` for a field that only stops being unique and indexed (a OneToOneField
    becoming a ForeignKey with `db_index=False`). On PostgreSQL it drops the unique constraint
    and nothing else: Django's own would also drop the foreign key and add it again, and adding
    one reads every row of the table under a lock that holds off inserts. Dropping the
    constraint is a brief lock (its index goes with it); a plain unique index goes
    `CONCURRENTLY` (the migration must say `atomic = False`). Backwards the unique index is
    built `CONCURRENTLY` and made the constraint PostgreSQL names `<table>_<column>_key`."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        table, column = self._table_and_column(schema_editor, from_state, app_label)
        if table is None:
            return
        quote = schema_editor.quote_name
        with schema_editor.connection.cursor() as cursor:
            found = schema_editor.connection.introspection.get_constraints(cursor, table)
        for name, info in found.items():
            if info["columns"] != [column] or not info["unique"] or info["primary_key"]:
                continue
            if info["index"]:  # a unique index, no constraint
                schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}")
            else:
                schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        table, column = self._table_and_column(schema_editor, to_state, app_label)
        if table is None:
            return
        quote = schema_editor.quote_name
        name = f"{table}_{column}_key"
        schema_editor.execute(
            f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {quote(name)} "
            f"ON {quote(table)} ({quote(column)})"
        )
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} "
            f"UNIQUE USING INDEX {quote(name)}"
        )

    def _table_and_column(self, schema_editor, state, app_label) -> tuple[str | None, str]:
        """The field's table and column, or no table where this database takes no migration
        of the model."""
        model = state.apps.get_model(app_label, self.model_name)
        column = model._meta.get_field(self.name).column
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return None, column
        return model._meta.db_table, column

    def describe(self):
        return f"{super().describe()} (on PostgreSQL: its unique constraint dropped)"
