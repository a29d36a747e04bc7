"""What the service's operations raise when what they are asked cannot be done.

Apart from crud.py (an example, deleted with the example models): your own
operations raise the same two{% if cookiecutter.include_api == "y" %}, and the API answers them with 404 and 409 alike{% endif %}.
"""


class NotFound(LookupError):
    """A row the caller named does not exist."""


class Conflict(ValueError):
    """The database refused the change: it contradicts rows already there."""
