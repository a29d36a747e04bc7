"""Which Alembic command is running, as far as env.py can tell."""

from alembic.config import Config

# Commands that may compare the models with the database and so need the models.
_MODEL_COMMANDS = {"revision", "check"}


def _name(config: Config) -> str:
    cmd = getattr(config.cmd_opts, "cmd", None)
    return getattr(cmd[0], "__name__", "") if cmd else ""


def needs_models(config: Config) -> bool:
    """Whether this run may autogenerate; plain upgrades skip importing the models."""
    if config.cmd_opts is None:
        # Called from code (tests, tools): we cannot tell, so load them.
        return True
    return _name(config) in _MODEL_COMMANDS


def compares(config: Config) -> bool:
    """Whether this CLI run compares models with the database (revision --autogenerate,
    check); False when called from code, where it cannot be told."""
    autogenerating = bool(getattr(config.cmd_opts, "autogenerate", False))
    return _name(config) == "check" or (_name(config) == "revision" and autogenerating)
