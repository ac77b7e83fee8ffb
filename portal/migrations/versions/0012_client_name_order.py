"""clients: an index on the folded search text, which the client list is sorted by

Revision ID: 0012
Revises: 0011

The list's default order is by name, and the folded name leads ``search_text``. Without an
index every page sorted all visible clients (a temporary B-tree of the whole table); with it
the first page reads 25 index entries.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_clients_search_text", "clients", ["search_text"])


def downgrade() -> None:
    op.drop_index("ix_clients_search_text", table_name="clients")
