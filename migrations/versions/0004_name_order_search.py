"""Name order for search: contacts without a leading letter sort after z; covering walk index on SQLite.

* ``sort_key`` of names that do not start with a letter a–z (digits, symbols, no name) gets a
  ``{`` in front (``plugin_host.text.sort_key``), so they come after z, where the A–Z bar puts
  ``#``. A search that walks name order then starts with names, not with thousands of nameless
  contacts.
* SQLite: ``ix_contacts_name_walk`` carries the permission columns, the name keys and
  ``search_text``, so a search walks name order without reading the table, and
  ``ix_contacts_last_walk`` / ``ix_contacts_company_walk`` do the same for name-key prefixes;
  ``ix_contacts_tenant_sort`` / ``_last`` / ``_company`` become empty stand-ins there. On
  PostgreSQL it is the other way round (a b-tree entry is limited to 2,704 bytes, too little for
  an unbounded ``search_text`` or for three name keys).
* ``ix_contacts_tenant_first`` is dropped: a first-name prefix is a display-name prefix, which
  ``sort_key`` serves.

Downgrade strips the leading ``{`` again from every ``sort_key`` that starts with one, including
the (rare) keys whose folded name itself started with ``{``.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WALK = ["tenant_id", "sort_key", "id", "visibility", "department_id", "owner_id", "last_key", "company_key",
        "search_text"]
PERM = ["visibility", "department_id", "owner_id"]
KEY_WALKS = {  # SQLite twins of ix_contacts_tenant_last / _company that cover a search's check
    "ix_contacts_last_walk": ["tenant_id", "last_key", "sort_key", "id", *PERM, "company_key"],
    "ix_contacts_company_walk": ["tenant_id", "company_key", "sort_key", "id", *PERM, "last_key"],
}


def upgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    op.execute("UPDATE contacts SET sort_key = '{' || substr(sort_key, 1, 399) WHERE sort_key < 'a'")
    op.drop_index("ix_contacts_tenant_first", table_name="contacts")
    if pg:
        op.create_index("ix_contacts_name_walk", "contacts", WALK, postgresql_where=sa.text("false"))
        for name, cols in KEY_WALKS.items():
            op.create_index(name, "contacts", cols, postgresql_where=sa.text("false"))
    else:
        for key in ("sort", "last", "company"):  # empty stand-ins on SQLite
            name = f"ix_contacts_tenant_{key}"
            op.drop_index(name, table_name="contacts")
            cols = ["tenant_id", f"{key}_key", "sort_key", "id"] if key != "sort" else ["tenant_id", "sort_key", "id"]
            op.create_index(name, "contacts", cols, sqlite_where=sa.text("0"))
        op.create_index("ix_contacts_name_walk", "contacts", WALK)
        for name, cols in KEY_WALKS.items():
            op.create_index(name, "contacts", cols)
        has_stats = op.get_bind().execute(sa.text(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar()
        if has_stats:
            op.execute("ANALYZE contacts")


def downgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_contacts_name_walk", table_name="contacts")
    for name in KEY_WALKS:
        op.drop_index(name, table_name="contacts")
    if not pg:
        for key in ("sort", "last", "company"):
            name = f"ix_contacts_tenant_{key}"
            op.drop_index(name, table_name="contacts")
            cols = ["tenant_id", f"{key}_key", "sort_key", "id"] if key != "sort" else ["tenant_id", "sort_key", "id"]
            op.create_index(name, "contacts", cols)
    op.create_index("ix_contacts_tenant_first", "contacts", ["tenant_id", "first_key", "sort_key", "id"])
    op.execute("UPDATE contacts SET sort_key = substr(sort_key, 2) WHERE sort_key >= '{' AND sort_key < '|'")
