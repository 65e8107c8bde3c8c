"""scheduled jobs: lock rows, notifications, what started a run, billing email lookup

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 16:47:14.796136

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    # One row per job, claimed by the process running it (SQLite; PostgreSQL uses
    # advisory locks and leaves this table empty).
    op.create_table('job_lock',
    sa.Column('job', sa.String(length=100), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('job')
    )
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('request_due', 'request_overdue', 'art14_owed', name='ck_notificationkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('audience', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'object_type', 'object_id', name='uq_notification_object')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_resolved_at'), ['resolved_at'], unique=False)

    # The anonymiser looks a person's emails up among organisations' billing emails.
    op.create_index('ix_organisation_billing_email_lower', 'organisation',
                    [sa.text('lower(billing_email)')],
                    postgresql_where=sa.text('billing_email IS NOT NULL'),
                    sqlite_where=sa.text('billing_email IS NOT NULL'))

    # Nullable: runs recorded before this revision did not say what started them.
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_column('trigger')

    op.drop_index('ix_organisation_billing_email_lower', table_name='organisation')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_resolved_at'))

    op.drop_table('notification')
    op.drop_table('job_lock')
