"""import indexes: drop the contact and provenance indexes that others cover

Every index costs each contact a purchased list adds. These answer no query that
another index does not answer as well (DESIGN §10, the import measure):

- contact (email), (last_name), (last_activity_at): every query ordering or
  filtering on them is a list's, which also asks for anonymised_at IS NULL and so
  reads the list indexes (column, id) WHERE anonymised_at IS NULL (0007);
- contact (anonymised_at): no query reads it (nearly every contact is live);
- provenance (contact_id): the unique (contact_id, source_id) starts with it;
- on PostgreSQL, lower(email), lower(last_name), lower(first_name): the
  text_pattern_ops indexes on the same expressions (0007) answer equality and IN
  as well as LIKE 'prefix%'. SQLite keeps them: its search is a range of lower().

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

COLUMNS = ('email', 'last_name', 'last_activity_at', 'anonymised_at')
#: (index, column, predicate) on PostgreSQL only.
LOWER = [
    ('ix_contact_email_lower', 'email', 'email IS NOT NULL'),
    ('ix_contact_last_name_lower', 'last_name', None),
    ('ix_contact_first_name_lower', 'first_name', None),
]


def _postgresql():
    return op.get_bind().dialect.name == 'postgresql'


def upgrade():
    for column in COLUMNS:
        op.drop_index(f'ix_contact_{column}', table_name='contact')
    op.drop_index('ix_provenance_contact_id', table_name='provenance')
    if _postgresql():
        for name, _, _ in LOWER:
            op.drop_index(name, table_name='contact')


def downgrade():
    if _postgresql():
        for name, column, where in LOWER:
            predicate = sa.text(where) if where else None
            op.create_index(name, 'contact', [sa.text(f'lower({column})')],
                            postgresql_where=predicate)
    op.create_index('ix_provenance_contact_id', 'provenance', ['contact_id'])
    for column in COLUMNS:
        op.create_index(f'ix_contact_{column}', 'contact', [column])
