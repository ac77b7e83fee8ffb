"""clients: the phone number normalised to E.164 (indexed, so a number is found however it
was typed), and a company's registration number and annual revenue

Revision ID: 0011
Revises: 0010

Plain ADD COLUMN (no batch copy). Existing phone numbers are normalised here with the
``phonenumbers`` library, read as Hungarian when they carry no country code; a number that is
no valid phone number keeps an empty E.164 form (the client is still found by what was typed).
"""

import phonenumbers
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

clients = sa.table("clients", sa.column("id", sa.Integer), sa.column("phone", sa.String),
                   sa.column("phone_e164", sa.String))


def _e164(typed: str) -> str | None:
    try:
        number = phonenumbers.parse(typed, "HU")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def upgrade() -> None:
    op.add_column("clients", sa.Column("phone_e164", sa.String(length=16), nullable=True))
    op.add_column("clients", sa.Column("registration_number", sa.String(length=32),
                                       nullable=True))
    op.add_column("clients", sa.Column("revenue_minor", sa.BigInteger(), nullable=True))
    op.create_index("ix_clients_phone_e164", "clients", ["phone_e164"])
    bind = op.get_bind()
    rows = bind.execute(sa.select(clients.c.id, clients.c.phone)
                        .where(clients.c.phone.is_not(None))).all()
    updates = [{"row_id": row.id, "e164": e164} for row in rows
               if (e164 := _e164(row.phone)) is not None]
    if updates:
        bind.execute(clients.update().where(clients.c.id == sa.bindparam("row_id"))
                     .values(phone_e164=sa.bindparam("e164")), updates)


def downgrade() -> None:
    op.drop_index("ix_clients_phone_e164", table_name="clients")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("revenue_minor")
        batch.drop_column("registration_number")
        batch.drop_column("phone_e164")
