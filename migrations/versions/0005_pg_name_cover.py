"""PostgreSQL: a search walks name order in a covering index (index-only scans).

* ``ix_contacts_name_cover``: name order (``tenant_id, sort_key, id``) carrying every column a
  search walk reads (the permission columns, ``last_key``, ``company_key``, ``search_text``) as
  ``INCLUDE`` columns, so a walk reads no table page per row (the visibility map decides, which
  VACUUM / autovacuum keeps up to date). It is partial: a b-tree entry is limited to 2,704 bytes and
  ``search_text`` is unbounded, so only rows whose four keys take at most 2,000 bytes are in it (an
  INSERT or UPDATE of a huge contact never fails).
* ``ix_contacts_name_long``: name order of the other rows (normally none), which a walk merges in.

Both predicates must stay word for word those of ``plugin_host.repo.search.FITS`` / ``LONG``.
SQLite has ``ix_contacts_name_walk`` (0004); here both are empty stand-ins.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NAME_ORDER = ["tenant_id", "sort_key", "id"]
INCLUDE = ["visibility", "department_id", "owner_id", "last_key", "company_key", "search_text"]
KEY_BYTES = ("octet_length(contacts.sort_key) + octet_length(contacts.last_key) + "
             "octet_length(contacts.company_key) + octet_length(contacts.search_text)")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_contacts_name_cover", "contacts", NAME_ORDER, postgresql_include=INCLUDE,
                        postgresql_where=sa.text(f"{KEY_BYTES} <= 2000"))
        op.create_index("ix_contacts_name_long", "contacts", NAME_ORDER,
                        postgresql_where=sa.text(f"{KEY_BYTES} > 2000"))
    else:
        for name in ("ix_contacts_name_cover", "ix_contacts_name_long"):
            op.create_index(name, "contacts", NAME_ORDER, sqlite_where=sa.text("0"))


def downgrade():
    op.drop_index("ix_contacts_name_long", table_name="contacts")
    op.drop_index("ix_contacts_name_cover", table_name="contacts")
