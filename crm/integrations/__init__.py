"""Clients of the processors the register's data goes to (the notice's recipients)."""
