"""Roles, permissions, the security manager, sign-in, sessions and the audit trail."""
