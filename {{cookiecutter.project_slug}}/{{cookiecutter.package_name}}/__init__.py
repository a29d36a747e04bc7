"""The service package: SQLModel models, their database, and migration support."""
