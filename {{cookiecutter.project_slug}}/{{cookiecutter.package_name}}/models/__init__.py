"""The service's tables, one module per subject: a new module here is found by itself.

Every module in this package is imported below, so autogenerate sees each table
without an import to remember. The constraint naming convention is set here, once,
before any module defines a table (SQLAlchemy names constraints when a table is
defined): keep this file when you replace the example models.
"""

import hashlib
import importlib
import pkgutil
import re
from typing import Any

from sqlmodel import SQLModel


def constraint_name_or_sql(constraint: Any, _table: Any) -> str:
    """A CHECK constraint's own name, or one made from its SQL text when it has none
    (sa.CheckConstraint("quantity >= 0") -> quantity_a1b2c3): the same text, the
    same name, every time."""
    if isinstance(constraint.name, str):
        return constraint.name
    text = str(constraint.sqltext)
    words = re.findall(r"[a-z_][a-z0-9_]*", text.lower())[:2]
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return "_".join([*words, digest])


# Every constraint gets a predictable name, so a later migration can drop or alter it
# on any backend (without one: "Constraint must have a name").
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    # A token of our own, so unnamed CHECKs get a name instead of an error; its name
    # contains "constraint_name", which is what makes SQLAlchemy prefix named ones too.
    "constraint_name_or_sql": constraint_name_or_sql,
    "ck": "ck_%(table_name)s_%(constraint_name_or_sql)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
