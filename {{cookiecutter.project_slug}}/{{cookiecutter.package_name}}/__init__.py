"""The {{ cookiecutter.package_name }} service: SQLModel models with Alembic migrations."""
