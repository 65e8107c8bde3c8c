"""activity pages keep a fifth free: a scrubbed activity is rewritten in place

Anonymising a person empties the subject and body of their activities (retention
and erasure). On a full page the new version of the row goes to another page and
every index of the table gets an entry for it; with room on the page PostgreSQL
writes it beside the old one and touches no index (a HOT update), since none of
the indexed columns change. In `crm bench` at 1,000,000 contacts a batch's activity
update went from about 5.5 ms to 3 ms. PostgreSQL only; rows already stored keep
their packing until the table is rewritten (VACUUM FULL, or pg_repack without a
long lock), rows written from now on leave the room.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 08:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

FILLFACTOR = 80


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE activity SET (fillfactor = {FILLFACTOR})')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE activity RESET (fillfactor)')
