"""Label names never contain ';' or '|': CSV import and export separate the names in a cell with them.

A label named 'a;b' was exported as 'a;b' and imported back as two labels, a and b. Names holding either
character are renamed first (each becomes '/'; a name that then clashes with another label, regardless of
case, gets the label's id appended), then a check constraint keeps new ones out. The labels service refuses
such names with a message before the constraint is ever met.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 11:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NAME_MAX = 50
CHECK = "name NOT LIKE '%;%' AND name NOT LIKE '%|%'"


def _renamed(name: str, label_id: int, taken: set[str]) -> str:
    """The name with its separators replaced, unique regardless of case among `taken`."""
    new = name.replace(";", "/").replace("|", "/")
    if new.lower() in taken:
        suffix = f" ({label_id})"
        new = new[: NAME_MAX - len(suffix)] + suffix
    return new


def upgrade():
    bind = op.get_bind()
    labels = sa.table(
        "labels", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("name_key", sa.String)
    )
    rows = bind.execute(sa.select(labels.c.id, labels.c.name, labels.c.name_key)).all()
    taken = {key for _id, _name, key in rows}
    for label_id, name, key in rows:
        if ";" in name or "|" in name:
            new = _renamed(name, label_id, taken - {key})
            taken.discard(key)
            taken.add(new.lower())
            bind.execute(sa.update(labels).where(labels.c.id == label_id).values(name=new, name_key=new.lower()))
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_labels_name_separators"), CHECK)


def downgrade():
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_labels_name_separators"), type_="check")
