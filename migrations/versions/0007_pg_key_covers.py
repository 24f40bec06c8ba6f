"""PostgreSQL: the last-name and company indexes carry what a search checks (index-only reads).

A search reads the contacts of a last name or company value by value, in name order
(``last_key = 'smith' ORDER BY sort_key, id``), checking the permission filter and the other
words of the query on each row. With ``ix_contacts_tenant_last`` / ``ix_contacts_tenant_company``
each row checked was a table page read ("smith j": ~9,500 Smiths before the first J, 27 ms at
1M contacts). They are replaced by covering twins that carry the permission columns and the other
key as ``INCLUDE`` columns:

``ix_contacts_last_cover`` / ``ix_contacts_company_cover``: ``(tenant_id, last_key | company_key,
sort_key, id) INCLUDE (visibility, department_id, owner_id, company_key | last_key)``, partial on
the same predicate as ``ix_contacts_name_cover`` (0005): only rows whose keys take at most 2,000
bytes, so an INSERT or UPDATE of a huge contact never exceeds a b-tree entry's limit. The other
rows (normally none) are all in ``ix_contacts_name_long`` (0005), which searches read for them.

It also creates ``contacts_key_bytes``, statistics on the byte length that both partial predicates
test: without them the planner guesses a third of the table is ``LONG`` (it is normally empty), and
a read of those rows became a parallel bitmap scan with two workers (~9 ms to start) instead of a
probe of the empty index (0.04 ms); the ``FITS`` side's estimates (every walk) improve too.

Searches use the predicates of ``plugin_host.repo.search.FITS`` / ``LONG`` word for word. SQLite
keeps ``ix_contacts_last_walk`` / ``ix_contacts_company_walk`` (0003); its empty stand-ins are
renamed to match the models.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KEY_BYTES = ("octet_length(contacts.sort_key) + octet_length(contacts.last_key) + "
             "octet_length(contacts.company_key) + octet_length(contacts.search_text)")
PERMISSION = ["visibility", "department_id", "owner_id"]
KEYS = {"last": ("last_key", "company_key"), "company": ("company_key", "last_key")}


def upgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        op.execute(f"CREATE STATISTICS contacts_key_bytes ON ({KEY_BYTES}) FROM contacts")
        op.execute("ANALYZE contacts")
    for name, (key, other) in KEYS.items():
        op.drop_index(f"ix_contacts_tenant_{name}", table_name="contacts")
        cols = ["tenant_id", key, "sort_key", "id"]
        if pg:
            op.create_index(f"ix_contacts_{name}_cover", "contacts", cols, postgresql_include=[*PERMISSION, other],
                            postgresql_where=sa.text(f"{KEY_BYTES} <= 2000"))
        else:
            op.create_index(f"ix_contacts_{name}_cover", "contacts", cols, sqlite_where=sa.text("0"))


def downgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        op.execute("DROP STATISTICS IF EXISTS contacts_key_bytes")
    for name, (key, _other) in KEYS.items():
        op.drop_index(f"ix_contacts_{name}_cover", table_name="contacts")
        cols = ["tenant_id", key, "sort_key", "id"]
        if pg:
            op.create_index(f"ix_contacts_tenant_{name}", "contacts", cols)
        else:
            op.create_index(f"ix_contacts_tenant_{name}", "contacts", cols, sqlite_where=sa.text("0"))
