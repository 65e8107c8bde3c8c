"""WSGI and Flask CLI entry point: `flask --app app crm ...`, `gunicorn app:app`."""

from crm import create_app

app = create_app()
