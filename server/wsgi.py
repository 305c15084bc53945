"""WSGI entry point for gunicorn: `gunicorn 'server.wsgi:app'` (DATABASE_URL selects the database)."""
from .app import create_app

app = create_app()
