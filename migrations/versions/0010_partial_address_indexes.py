"""partial address indexes: the second email and the mobile indexed only where given

Most contacts have no second email and no mobile, and none of the anonymised have
any: their indexes held an entry for nothing per contact, written by every contact
added (a purchased list's 100,000 lines) and again by every contact anonymised.
The plain (alt_email) index goes: every query compares lower(alt_email), which
ix_contact_alt_email_lower answers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

#: (index, indexed expression, column that must be given)
PARTIAL = [
    ('ix_contact_alt_email_lower', 'lower(alt_email)', 'alt_email'),
    ('ix_contact_mobile', 'mobile', 'mobile'),
]


def upgrade():
    op.drop_index('ix_contact_alt_email', table_name='contact')
    for name, expression, column in PARTIAL:
        given = sa.text(f'{column} IS NOT NULL')
        op.drop_index(name, table_name='contact')
        op.create_index(name, 'contact', [sa.text(expression)],
                        postgresql_where=given, sqlite_where=given)


def downgrade():
    for name, expression, _ in PARTIAL:
        op.drop_index(name, table_name='contact')
        op.create_index(name, 'contact', [sa.text(expression)])
    op.create_index('ix_contact_alt_email', 'contact', ['alt_email'])
