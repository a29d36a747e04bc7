"""What Alembic runs: env.py, the revisions, and the support code they import.

Nothing here is imported by the service itself, and revisions import helpers from
this package (never from the app), so the history keeps working as the app changes.
"""
