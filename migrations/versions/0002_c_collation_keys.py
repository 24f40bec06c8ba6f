"""Search and sort keys compare byte-wise on PostgreSQL (COLLATE "C").

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KEYS = [("contacts", "first_key", 200), ("contacts", "last_key", 200), ("contacts", "company_key", 200),
        ("contacts", "sort_key", 400), ("contact_phones", "e164", 20), ("contact_phones", "national", 20),
        ("contact_phones", "digits_rev", 40), ("contact_emails", "address_key", 254)]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite compares with BINARY already
    for table, column, length in KEYS:
        op.alter_column(table, column, type_=sa.String(length, collation="C"),
                        existing_type=sa.String(length))


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, length in KEYS:
        op.alter_column(table, column, type_=sa.String(length), existing_type=sa.String(length, collation="C"))
