"""a data subject request can be linked to a callback request of someone not in the register

The public form's requests that are kept apart from the register (no contact: the
demo's, those taken by phone, those whose contact was deleted) hold a person's name,
email, phone and message. A request of that person names the callback request it is
about, as it names a contact otherwise; its export and erasure take it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-25 22:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

FOREIGN_KEY = 'fk_data_subject_request_callback_request_id'
INDEX = 'ix_data_subject_request_callback_request_id'


def upgrade():
    with op.batch_alter_table('data_subject_request') as batch:
        batch.add_column(sa.Column('callback_request_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(FOREIGN_KEY, 'callback_request', ['callback_request_id'],
                                 ['id'], ondelete='SET NULL')
        batch.create_index(INDEX, ['callback_request_id'], unique=False)


def downgrade():
    with op.batch_alter_table('data_subject_request') as batch:
        batch.drop_index(INDEX)
        batch.drop_constraint(FOREIGN_KEY, type_='foreignkey')
        batch.drop_column('callback_request_id')
