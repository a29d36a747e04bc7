"""The service's tables, one module per subject: a new module here is found by itself.

Every module in this package is imported below, so autogenerate sees each table
without an import to remember. The constraint naming convention is set here, once,
before any module defines a table (SQLAlchemy names constraints when a table is
defined): keep this file when you replace the example models.
"""

import importlib
import pkgutil

from sqlmodel import SQLModel

# Every constraint gets a predictable name, so a later migration can drop or alter it
# on any backend (without one: "Constraint must have a name").
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
