"""The indexes every imported contact pays for (migrations 0008, 0010): the look-ups of
the indexes dropped are answered by indexes that stay, and those made partial (only
contacts with a second email or a mobile) still answer theirs.

On PostgreSQL sequential scans are turned off and only the answering index is left
(in a transaction rolled back), so that the test's small tables show that index can
answer the statement rather than which one the planner prefers for a few rows (the
plans at a million contacts are the bench's).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.extensions import db

LIVE = "SELECT id FROM contact WHERE anonymised_at IS NULL"
#: (statement, index that answers it on PostgreSQL, on SQLite or None when not asked).
LOOKUPS = [
    # The import's matching, the callback form and the Mailchimp webhook.
    ("SELECT id FROM contact WHERE lower(email) = :a AND email IS NOT NULL "
     "AND anonymised_at IS NULL", "ix_contact_email_pattern", "ix_contact_email_lower"),
    # The data subject's look-ups (SQLite lower-cases in Python there).
    ("SELECT id FROM contact WHERE lower(email) IN (:a, :b)", "ix_contact_email_pattern", None),
    ("SELECT id FROM contact WHERE lower(first_name) = :a AND lower(last_name) = :b",
     "_name_pattern", None),
    # The contacts list: its order, its filters, its "›" link.
    *((f"{LIVE} ORDER BY {column} {direction}, id {direction} LIMIT 25",
       f"ix_contact_list_{column}", f"ix_contact_list_{column}")
      for column in ("email", "last_name", "last_activity_at") for direction in ("ASC", "DESC")),
    (f"{LIVE} AND email = :a", "ix_contact_list_email", "ix_contact_list_email"),
    (f"{LIVE} AND last_name = :a", "ix_contact_list_last_name", "ix_contact_list_last_name"),
    (f"{LIVE} AND (email, id) > (:a, 5) ORDER BY email, id LIMIT 25", "ix_contact_list_email",
     "ix_contact_list_email"),
    # Receivables' billing contacts (migration 0013), in the list's order.
    (f"{LIVE} AND relationship_role = :a ORDER BY last_name, id LIMIT 25",
     "ix_contact_list_relationship_role", "ix_contact_list_relationship_role"),
    # The search box on SQLite: a range of lower().
    ("SELECT id FROM contact WHERE lower(last_name) >= :a AND lower(last_name) < :b", None,
     "ix_contact_last_name_lower"),
    # A second email or a mobile: the data subject's look-ups and the search box.
    ("SELECT id FROM contact WHERE lower(alt_email) IN (:a, :b)", "ix_contact_alt_email_lower",
     None),
    ("SELECT id FROM contact WHERE alt_email IS NOT NULL AND lower(alt_email) LIKE 'ain%'",
     "ix_contact_alt_email_lower", None),
    ("SELECT id FROM contact WHERE alt_email IS NOT NULL AND lower(alt_email) >= :a "
     "AND lower(alt_email) < :b", None, "ix_contact_alt_email_lower"),
    ("SELECT id FROM contact WHERE mobile = :a", "ix_contact_mobile", "ix_contact_mobile"),
    # A person's provenance (access export, anonymisation, cascade).
    ("SELECT id FROM provenance WHERE contact_id IN (1, 2)", "uq_provenance",
     "sqlite_autoindex_provenance_1"),
]


def _plan(statement: str, postgres: bool, keep: str) -> str:
    params = {"a": "aino", "b": "ainp"}
    if postgres:
        # Among empty tables' indexes the planner's choice is a toss-up: leave it only
        # the indexes `keep` names (this transaction is rolled back) and see it used.
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        for name in db.session.scalars(sa.text(
                "SELECT indexname FROM pg_indexes WHERE tablename IN ('contact', 'provenance')"
                " AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE 'uq\\_%'")):
            if keep not in name:
                db.session.execute(sa.text(f'DROP INDEX "{name}"'))
        return "\n".join(db.session.scalars(sa.text(f"EXPLAIN {statement}"), params))
    return "\n".join(row[3] for row in db.session.execute(
        sa.text(f"EXPLAIN QUERY PLAN {statement}"), params))


@pytest.mark.parametrize(("statement", "on_postgres", "on_sqlite"), LOOKUPS)
def test_a_look_up_of_a_dropped_index_is_answered_by_another(is_postgres, statement,
                                                             on_postgres, on_sqlite):
    expected = on_postgres if is_postgres else on_sqlite
    if expected is None:
        pytest.skip("not a look-up of this database")
    assert expected in _plan(statement, is_postgres, expected)

