"""The API's routes, one module per subject: a new module here is served by itself.

create_app() includes the `router` of every module in this package, so a new module
needs no line elsewhere, and deleting one (examples.py with the example models)
leaves nothing to edit.
"""

import importlib
import pkgutil
from collections.abc import Iterator

from fastapi import APIRouter


def routers() -> Iterator[APIRouter]:
    """The `router` of each module here, in name order."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        yield importlib.import_module(f"{__name__}.{module.name}").router
