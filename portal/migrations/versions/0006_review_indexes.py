"""credit review indexes for the queue at tens of thousands of reviews: its order
(updated_at, id) and the counts per status of the clients one sees, whether the planner starts
from the clients (client_id, status) or from the statuses (status, client_id)

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_credit_reviews_updated_at_id": ["updated_at", "id"],
    "ix_credit_reviews_client_id_status": ["client_id", "status"],
    "ix_credit_reviews_status_client_id": ["status", "client_id"],
}


def upgrade() -> None:
    with op.batch_alter_table("credit_reviews") as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns)


def downgrade() -> None:
    with op.batch_alter_table("credit_reviews") as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
