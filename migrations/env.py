"""Alembic environment for Flask-Migrate: the app's engine and metadata."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

# Made by hand in migrations, not declared in the models: the priority-rank expression index (both
# databases), and on PostgreSQL the full-text side table with its GIN index (0009; 0001's old index). (The
# primary key's included columns, migration 0031, are not compared by autogenerate.)
HAND_MADE = {
    "ix_issues_search",
    "ix_issues_priority_rank_id",
    "issue_documents",
    "ix_issue_documents_document",
}


def include_object(obj, name, type_, reflected, compare_to):
    """Leave the hand-made tables and indexes out of autogenerate comparisons."""
    return not (type_ in ("index", "table") and name in HAND_MADE)


def get_engine():
    """The application's SQLAlchemy engine."""
    return current_app.extensions["migrate"].db.engine


def get_metadata():
    """The models' metadata."""
    return current_app.extensions["migrate"].db.metadata


config.set_main_option("sqlalchemy.url", get_engine().url.render_as_string(hide_password=False).replace("%", "%%"))


def run_migrations_offline():
    """Emit SQL for the migrations without a database connection."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=get_metadata(),
        literal_binds=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run the migrations against the app's database."""

    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args["render_as_batch"] = True  # SQLite needs batch mode to alter tables
    connectable = get_engine()
    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop the old one, rename); with foreign keys on, dropping the old
            # table deletes every row that points at it through ON DELETE CASCADE (migration 0010 emptied
            # issue_labels that way). Off for the migrations (SQLite ignores the pragma inside a transaction, so it
            # is set before one begins), and every reference is checked before they are switched on again.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            include_object=include_object,
            **conf_args,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"After the migration {len(broken)} rows point at missing rows: {broken[:5]}")
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
