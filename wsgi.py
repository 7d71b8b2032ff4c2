"""Gunicorn entry point: ``gunicorn -c config/gunicorn.conf.py wsgi:app``."""

from gentrade import create_app

app = create_app()
