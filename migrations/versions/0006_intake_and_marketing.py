"""intake and marketing: Mailchimp sync state, import counts, email look-up index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 17:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # What the CRM put into the Mailchimp audience, by Mailchimp's subscriber hash.
    op.create_table('mailchimp_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('subscriber_hash', sa.String(length=32), nullable=False),
    sa.Column('status', sa.Enum('subscribed', 'unsubscribed', name='ck_mailchimpstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('contact_version', sa.Integer(), nullable=True),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscriber_hash')
    )
    with op.batch_alter_table('mailchimp_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailchimp_member_contact_id'), ['contact_id'], unique=False)

    # Counts of what importing a purchased list did; older lists have none.
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_counts', sa.JSON(), nullable=True))

    # Imports, the callback form and the webhook find people by email in any case.
    op.create_index('ix_contact_email_lower', 'contact', [sa.text('lower(email)')],
                    postgresql_where=sa.text('email IS NOT NULL'),
                    sqlite_where=sa.text('email IS NOT NULL'))


def downgrade():
    op.drop_index('ix_contact_email_lower', table_name='contact')

    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_column('import_counts')

    with op.batch_alter_table('mailchimp_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailchimp_member_contact_id'))

    op.drop_table('mailchimp_member')
