"""the contacts list filtered by role in the customer relationship answers from an index

Receivables list the billing contacts (the "role in the customer relationship"
filter) in the list's order, by last name. At a million contacts that was a
sequential scan of the whole table (about 80 ms on PostgreSQL) for the few with a
role. The index holds only live contacts with a role: a purchased list's people have
none, so an import writes no entry for them, and an anonymised contact leaves it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

GIVEN = sa.text('anonymised_at IS NULL AND relationship_role IS NOT NULL')


def upgrade():
    op.create_index('ix_contact_list_relationship_role', 'contact',
                    ['relationship_role', 'last_name', 'id'],
                    postgresql_where=GIVEN, sqlite_where=GIVEN)


def downgrade():
    op.drop_index('ix_contact_list_relationship_role', table_name='contact')
