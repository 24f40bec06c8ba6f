"""Search indexes: covering name-key indexes, and substring indexes (pg_trgm / SQLite FTS5 trigram).

The key indexes carry ``sort_key`` and ``id`` so a search can collect candidates and their
order from the index alone. Substring search uses a trigram GIN index on PostgreSQL and an FTS5
trigram table kept in step by triggers on SQLite (the write paths stay unchanged). On SQLite the
``ix_contacts_search_trgm`` index is declared partial ``WHERE 0``: it holds nothing and exists so
that models and migrations describe the same schema on both databases.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEYS = ("first", "last", "company")

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE contacts_fts USING fts5(search_text, tokenize='trigram')",
    "INSERT INTO contacts_fts(rowid, search_text) SELECT id, search_text FROM contacts",
    """CREATE TRIGGER contacts_fts_ai AFTER INSERT ON contacts BEGIN
         INSERT INTO contacts_fts(rowid, search_text) VALUES (new.id, new.search_text); END""",
    """CREATE TRIGGER contacts_fts_ad AFTER DELETE ON contacts BEGIN
         DELETE FROM contacts_fts WHERE rowid = old.id; END""",
    """CREATE TRIGGER contacts_fts_au AFTER UPDATE OF search_text ON contacts BEGIN
         UPDATE contacts_fts SET search_text = new.search_text WHERE rowid = new.id; END""",
]


def upgrade():
    for key in KEYS:
        op.drop_index(f"ix_contacts_tenant_{key}", table_name="contacts")
        op.create_index(f"ix_contacts_tenant_{key}", "contacts", ["tenant_id", f"{key}_key", "sort_key", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index("ix_contacts_search_trgm", "contacts", ["search_text"], postgresql_using="gin",
                        postgresql_ops={"search_text": "gin_trgm_ops"})
    else:
        op.create_index("ix_contacts_search_trgm", "contacts", ["search_text"], sqlite_where=sa.text("0"))
        for statement in SQLITE_FTS:
            op.execute(statement)
        has_stats = op.get_bind().execute(sa.text(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar()
        if has_stats:  # new indexes without statistics next to old ones mislead SQLite's planner
            op.execute("ANALYZE contacts")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        for name in ("contacts_fts_ai", "contacts_fts_ad", "contacts_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS contacts_fts")
    op.drop_index("ix_contacts_search_trgm", table_name="contacts")
    for key in KEYS:
        op.drop_index(f"ix_contacts_tenant_{key}", table_name="contacts")
        op.create_index(f"ix_contacts_tenant_{key}", "contacts", ["tenant_id", f"{key}_key"])
