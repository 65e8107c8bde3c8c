"""Business operations: plain functions that take a session, testable without a request."""
