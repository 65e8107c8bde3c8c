"""reference data in the register's language: rename what earlier versions wrote in English

Until 0011 the standing sources were created as "Own activity" and "The person", and
the Mailchimp recipient's purpose and safeguard note in English, whatever the
register's language; since then they are created in BABEL_DEFAULT_LOCALE. This names
the rows that still carry those first English texts as a new database would; a name
someone has edited since is left as it is. Nothing to undo: the names are data.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 09:30:00

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

#: The texts earlier versions wrote.
OLD = {
    'own_activity': 'Own activity',
    'the_person': 'The person',
    'purpose': 'Direct marketing and newsletters by email',
    'notes': 'Intuit Mailchimp is certified under the EU–US Data Privacy Framework; '
             "the notice's Privacy Shield reference is obsolete.",
}
#: The texts a new database gets, by the register's language (as of this revision).
NEW = {
    'fi': {
        'own_activity': 'Oma toimintamme',
        'the_person': 'Henkilö itse',
        'purpose': 'Suoramarkkinointi ja uutiskirjeet sähköpostitse',
        'notes': 'Intuit Mailchimp on sertifioitu EU:n ja Yhdysvaltojen väliseen '
                 'tietosuojakehykseen (Data Privacy Framework); selosteen viittaus Privacy '
                 'Shieldiin on vanhentunut.',
    },
    'en': {
        'own_activity': 'Our own activity',
        'the_person': 'The person themselves',
        'purpose': OLD['purpose'],
        'notes': OLD['notes'],
    },
}

source = sa.table('source', sa.column('kind', sa.String), sa.column('name', sa.String))
recipient = sa.table('recipient', sa.column('name', sa.String),
                     sa.column('purpose', sa.String), sa.column('safeguard_notes', sa.String))


def _language() -> str:
    try:
        language = current_app.config.get('BABEL_DEFAULT_LOCALE') or 'fi'
    except RuntimeError:  # Alembic run without the application: the CRM's default
        language = 'fi'
    return language if language in NEW else 'fi'


def upgrade():
    new = NEW[_language()]
    for kind in ('own_activity', 'the_person'):
        op.execute(source.update().where(source.c.kind == kind, source.c.name == OLD[kind])
                   .values(name=new[kind]))
    mailchimp = recipient.c.name == 'Mailchimp'
    op.execute(recipient.update().where(mailchimp, recipient.c.purpose == OLD['purpose'])
               .values(purpose=new['purpose']))
    op.execute(recipient.update().where(mailchimp, recipient.c.safeguard_notes == OLD['notes'])
               .values(safeguard_notes=new['notes']))


def downgrade():
    pass
