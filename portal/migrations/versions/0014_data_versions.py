"""data tokens: what a page that keeps its rendered results is keyed on

Revision ID: 0014
Revises: 0013

One row per watched page (the client list first), holding a random token that every commit
writing one of the page's tables replaces (``portal.changes``). The row is seeded here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    versions = op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_versions")),
    )
    op.bulk_insert(versions, [{"name": "client_list", "token": 1}])


def downgrade() -> None:
    op.drop_table("data_versions")
