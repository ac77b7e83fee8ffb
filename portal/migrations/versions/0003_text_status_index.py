"""index versions by text status (the search page counts documents without text)

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_versions") as batch_op:
        batch_op.create_index("ix_document_versions_text_status", ["text_status"])


def downgrade() -> None:
    with op.batch_alter_table("document_versions") as batch_op:
        batch_op.drop_index("ix_document_versions_text_status")
