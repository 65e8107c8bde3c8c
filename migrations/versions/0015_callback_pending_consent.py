"""a callback request keeps the consent its form showed until the call confirms it

A post on the public form that matches someone already in the register (by the email
or phone typed, which nobody has verified) no longer records a consent for them at
once: the request keeps the consent text's version and language, and the consent is
recorded on the contact when Sales closes the request as done, having spoken with
the person. A new person's consent is recorded at once, as before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25 16:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


# SQLite's batch mode copies the table and cannot carry this expression index over.
EMAIL_INDEX = 'ix_callback_request_email_lower'


def _without_email_index(change):
    op.drop_index(EMAIL_INDEX, table_name='callback_request')
    change()
    op.create_index(EMAIL_INDEX, 'callback_request', [sa.text('lower(email)')])


def upgrade():
    _without_email_index(_add_columns)


def downgrade():
    _without_email_index(_drop_columns)


def _add_columns():
    with op.batch_alter_table('callback_request') as batch:
        batch.add_column(sa.Column('consent_version', sa.String(32), nullable=True))
        batch.add_column(sa.Column('consent_language', sa.String(8), nullable=True))
        batch.add_column(sa.Column('consent', sa.Enum(
            'recorded', 'pending', 'not_recorded', name='ck_callbackconsent',
            native_enum=False, create_constraint=True, length=32), nullable=True))


def _drop_columns():
    with op.batch_alter_table('callback_request') as batch:
        batch.drop_constraint('ck_callbackconsent', type_='check')
        batch.drop_column('consent')
        batch.drop_column('consent_language')
        batch.drop_column('consent_version')
