"""the privacy team's people on consent with no valid consent left answer from an index

The privacy team's home page counts and lists the live contacts whose legal basis is
consent and who have no valid consent left (each withdrawn or lapsed), kept without
a basis until it decides. At a million contacts that was a scan of the whole table
on every visit of the home page, for the few on consent. The index holds only live
contacts on consent, by name as the panel lists them: an import of a purchased list
(whose people are on their position) writes no entry, nor does anonymising.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25 17:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

GIVEN = sa.text("anonymised_at IS NULL AND legal_basis = 'consent'")


def upgrade():
    op.create_index('ix_contact_consent_basis', 'contact', ['last_name', 'id'],
                    postgresql_where=GIVEN, sqlite_where=GIVEN)


def downgrade():
    op.drop_index('ix_contact_consent_basis', table_name='contact')
