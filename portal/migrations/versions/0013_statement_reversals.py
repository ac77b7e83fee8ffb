"""statement lines: the payer's end-to-end id, and which credit a bank reversal takes back

Revision ID: 0013
Revises: 0012

A camt.053 reversal (``RvslInd``) of a client's payment repeats the payment's end-to-end id;
the importer finds the credit line by it and stages the reversal as a line of its own that
points at it. Each credit is reversed at most once (a unique index). Existing lines get an
empty end-to-end id: the files they came from are not kept.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("statement_lines") as batch:
        batch.add_column(sa.Column("end_to_end_id", sa.String(length=140), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("reverses_line_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_statement_lines_reverses_line_id_statement_lines"),
                                 "statement_lines", ["reverses_line_id"], ["id"])
        batch.create_unique_constraint(op.f("uq_statement_lines_reverses_line_id"),
                                       ["reverses_line_id"])
        batch.create_index("ix_statement_lines_end_to_end_id", ["end_to_end_id"])


def downgrade() -> None:
    with op.batch_alter_table("statement_lines") as batch:
        batch.drop_index("ix_statement_lines_end_to_end_id")
        batch.drop_constraint(op.f("uq_statement_lines_reverses_line_id"), type_="unique")
        batch.drop_constraint(op.f("fk_statement_lines_reverses_line_id_statement_lines"),
                              type_="foreignkey")
        batch.drop_column("reverses_line_id")
        batch.drop_column("end_to_end_id")
