"""subject rights: contacts' change history, objection, request delivery and erasure
results, look-up indexes, and an append-only audit trail on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 17:15:00

The audit trail (DESIGN §9.5) is append-only. On PostgreSQL the database enforces
it too: UPDATE of `audit_event` is always refused, and DELETE only inside the
retention job's pruning, which says so with `SET LOCAL crm.audit_pruning = 'on'`,
and only of events older than the shortest enabled `audit_event` retention period
(less a day, for clock differences between the job's host and the database). On
SQLite, the embedded single-machine default, there is no trigger: nothing in the
application updates or deletes audit events except that pruning.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

AUDIT_TRIGGERS = """
CREATE FUNCTION crm_audit_event_refuse_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: UPDATE is refused'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION crm_audit_event_check_pruning() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    keep_days integer;
BEGIN
    IF coalesce(current_setting('crm.audit_pruning', true), '') <> 'on' THEN
        RAISE EXCEPTION 'audit_event is append-only: DELETE is refused outside the '
                        'retention job''s pruning'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT min(period_days) INTO keep_days FROM retention_policy
     WHERE record_kind = 'audit_event' AND enabled;
    IF keep_days IS NULL OR EXISTS (
        SELECT 1 FROM pruned
         WHERE pruned.at >= now() - make_interval(days => greatest(keep_days - 1, 0))
    ) THEN
        RAISE EXCEPTION 'audit_event: only events past their retention period may be deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_event_no_update
    BEFORE UPDATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION crm_audit_event_refuse_update();

CREATE TRIGGER audit_event_pruning_only
    AFTER DELETE ON audit_event
    REFERENCING OLD TABLE AS pruned
    FOR EACH STATEMENT EXECUTE FUNCTION crm_audit_event_check_pruning();
"""

DROP_AUDIT_TRIGGERS = """
DROP TRIGGER IF EXISTS audit_event_pruning_only ON audit_event;
DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event;
DROP FUNCTION IF EXISTS crm_audit_event_check_pruning();
DROP FUNCTION IF EXISTS crm_audit_event_refuse_update();
"""


def upgrade():
    op.create_table('contact_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_by', sa.String(length=100), nullable=True),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['data_subject_request.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contact_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_change_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_change_request_id'), ['request_id'], unique=False)

    # Nullable: nobody had objected before this revision. Whoever objected to direct
    # marketing is never subscribed, whatever writes the row.
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('objected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            'ck_contact_objection', "objected_at IS NULL OR marketing_status <> 'subscribed'")

    with op.batch_alter_table('data_subject_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_how', sa.Enum('email', 'letter', 'in_person', name='ck_deliverymethod', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column('erasure_result', sa.JSON(), nullable=True))

    # Finding a person by email, name or identifier in any letter case.
    op.create_index('ix_contact_alt_email_lower', 'contact', [sa.text('lower(alt_email)')])
    op.create_index('ix_contact_last_name_lower', 'contact', [sa.text('lower(last_name)')])
    op.create_index('ix_identifier_identifier_lower', 'identifier',
                    [sa.text('lower(identifier)')])
    op.create_index('ix_callback_request_email_lower', 'callback_request',
                    [sa.text('lower(email)')])
    op.create_index('ix_callback_request_phone', 'callback_request', ['phone'])

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(AUDIT_TRIGGERS)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(DROP_AUDIT_TRIGGERS)

    op.drop_index('ix_callback_request_phone', table_name='callback_request')
    op.drop_index('ix_callback_request_email_lower', table_name='callback_request')
    op.drop_index('ix_identifier_identifier_lower', table_name='identifier')
    op.drop_index('ix_contact_last_name_lower', table_name='contact')
    op.drop_index('ix_contact_alt_email_lower', table_name='contact')

    with op.batch_alter_table('data_subject_request', schema=None) as batch_op:
        # SQLite's copy of the table would keep the CHECK of the dropped column.
        batch_op.drop_constraint('ck_deliverymethod', type_='check')
        batch_op.drop_column('erasure_result')
        batch_op.drop_column('delivered_how')

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_constraint('ck_contact_objection', type_='check')
        batch_op.drop_column('objected_at')

    with op.batch_alter_table('contact_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_change_request_id'))
        batch_op.drop_index(batch_op.f('ix_contact_change_contact_id'))

    op.drop_table('contact_change')
