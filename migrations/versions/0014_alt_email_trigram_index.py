"""trigram index of the second email: the search box's partial matches look inside it

When nothing begins with the text, the search box looks inside names, emails and
organisation names; a second email was left out, though a prefix finds it. On
PostgreSQL the partial search is answered by pg_trgm GIN indexes (0007); this one holds
only live contacts with a second email: a purchased list's people have none, so an
import writes no entry for them, and an anonymised contact leaves it. SQLite reads the
table for partial matches, as for the other columns: nothing to build there.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 14:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

GIVEN = 'anonymised_at IS NULL AND alt_email IS NOT NULL'


def _postgresql():
    return op.get_bind().dialect.name == 'postgresql'


def upgrade():
    if _postgresql():
        op.execute('CREATE INDEX ix_contact_alt_email_trgm ON contact '
                   f'USING gin (alt_email gin_trgm_ops) WHERE {GIVEN}')


def downgrade():
    if _postgresql():
        op.execute('DROP INDEX IF EXISTS ix_contact_alt_email_trgm')
