"""The service: its settings, engine, models and operations{% if cookiecutter.include_api == "y" %}, and its HTTP API{% endif %}."""
