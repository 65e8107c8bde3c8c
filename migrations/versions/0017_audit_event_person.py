"""the audit trail records who viewed lists of people, with the people each list showed

A list page whose rows are about people (the contacts, their consents, login ids,
provenance, activities, callback requests, data subject requests, change history,
the user accounts; an organisation's Contacts tab) is recorded as one "view_list"
event; the people it showed are this table's rows, by id only, so that the trail's
person filter finds each list that showed a person through the index on (object
type, object id), however large the trail.

Like `audit_event` (migration 0005), the table is append-only on PostgreSQL: UPDATE is
always refused, and DELETE only inside the retention job's pruning (its rows go with
their events, which the pruning deletes only past their retention period).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25 22:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

TRIGGERS = """
CREATE FUNCTION crm_audit_event_person_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND coalesce(current_setting('crm.audit_pruning', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_event_person is append-only: % is refused outside the '
                    'retention job''s pruning', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_event_person_append_only
    BEFORE UPDATE OR DELETE ON audit_event_person
    FOR EACH STATEMENT EXECUTE FUNCTION crm_audit_event_person_append_only();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS audit_event_person_append_only ON audit_event_person;
DROP FUNCTION IF EXISTS crm_audit_event_person_append_only();
"""


def upgrade():
    op.create_table(
        'audit_event_person',
        sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('object_type', sa.String(length=64), nullable=False),
        sa.Column('object_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['audit_event.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id', 'object_type', 'object_id'),
    )
    op.create_index('ix_audit_event_person_object', 'audit_event_person',
                    ['object_type', 'object_id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(TRIGGERS)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(DROP_TRIGGERS)
    op.drop_index('ix_audit_event_person_object', table_name='audit_event_person')
    op.drop_table('audit_event_person')
