"""The service: its settings, its database engine and sessions, and its models."""
