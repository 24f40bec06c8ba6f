"""PostgreSQL: leave 15 % of each contacts page free, so that updates can be HOT.

An update that changes no indexed column (notes, version, updated_at...: what a re-import or a
sync mostly changes) can stay on its page as a heap-only tuple and write no index entry; on a
page filled to 100 % (what COPY and bulk inserts leave) it moves to another page and writes a
new entry into every index of ``contacts`` (fourteen, the trigram GIN and a wide covering b-tree
among them). Pages written from now on keep the room; existing pages get it when rewritten
(``VACUUM FULL contacts`` or ``CLUSTER``, which this migration does not run). SQLite: nothing.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FILLFACTOR = 85


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE contacts SET (fillfactor = {FILLFACTOR})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE contacts RESET (fillfactor)")
