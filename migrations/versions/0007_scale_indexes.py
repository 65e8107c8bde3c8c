"""scale indexes: list order, case-insensitive prefix search, trigram contains-search

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LIVE = sa.text('anonymised_at IS NULL')
#: (index, table, expression, operator class) on PostgreSQL only.
PATTERN = [
    ('ix_contact_email_pattern', 'contact', 'lower((email)::text) text_pattern_ops'),
    ('ix_contact_last_name_pattern', 'contact', 'lower((last_name)::text) text_pattern_ops'),
    ('ix_contact_first_name_pattern', 'contact', 'lower((first_name)::text) text_pattern_ops'),
    ('ix_organisation_name_pattern', 'organisation', 'lower((name)::text) text_pattern_ops'),
]
TRIGRAM = [
    ('ix_contact_last_name_trgm', 'contact', 'last_name'),
    ('ix_contact_first_name_trgm', 'contact', 'first_name'),
    ('ix_contact_email_trgm', 'contact', 'email'),
    ('ix_organisation_name_trgm', 'organisation', 'name'),
]


def _postgresql():
    return op.get_bind().dialect.name == 'postgresql'


def upgrade():
    # A list page is one range of one of these indexes, however deep the page.
    for column in ('last_name', 'first_name', 'email', 'last_activity_at'):
        op.create_index(f'ix_contact_list_{column}', 'contact', [column, 'id'],
                        postgresql_where=LIVE, sqlite_where=LIVE)
    op.create_index('ix_contact_first_name_lower', 'contact', [sa.text('lower(first_name)')])
    op.create_index('ix_organisation_list_name', 'organisation', ['name', 'id'])
    op.create_index('ix_organisation_name_lower', 'organisation', [sa.text('lower(name)')])
    op.create_index('ix_organisation_visiting_city', 'organisation', ['visiting_city'])
    if _postgresql():
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for name, table, expression in PATTERN:
            op.execute(f'CREATE INDEX {name} ON {table} ({expression})')
        for name, table, column in TRIGRAM:
            op.execute(f'CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)')


def downgrade():
    if _postgresql():
        for name, _, _ in TRIGRAM + PATTERN:
            op.execute(f'DROP INDEX IF EXISTS {name}')
    op.drop_index('ix_organisation_visiting_city', table_name='organisation')
    op.drop_index('ix_organisation_name_lower', table_name='organisation')
    op.drop_index('ix_organisation_list_name', table_name='organisation')
    op.drop_index('ix_contact_first_name_lower', table_name='contact')
    for column in ('last_activity_at', 'email', 'first_name', 'last_name'):
        op.drop_index(f'ix_contact_list_{column}', table_name='contact')
