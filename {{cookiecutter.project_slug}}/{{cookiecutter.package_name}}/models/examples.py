"""Example tables: users place orders, and orders hold items.

Each subject is a family of classes, as in SQLModel's documentation: a base holding
the fields every member shares, the table itself, and the shapes data takes on the way
in (Create, Update) and out (Public). Only the table classes make tables; the others
only validate.

Delete this module (with crud.py{% if cookiecutter.include_api == "y" %}, api/routes/examples.py, tests/test_api.py{% endif %} and
tests/test_examples.py) when your own models arrive; the helpers in columns.py stay
useful to them.
"""

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import MISSING, BeforeValidator, StringConstraints, WithJsonSchema
from sqlalchemy import BigInteger, CheckConstraint, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from .columns import creation_time, primary_key

ORDER_STATUSES = ("pending", "paid", "shipped", "cancelled")
OrderStatus = Literal["pending", "paid", "shipped", "cancelled"]

# Fields as clients send them, each checked exactly as its JSON schema says{% if cookiecutter.include_api == "y" %} (so the
# API's OpenAPI document never promises more or less than it accepts){% endif %}.
# No NUL character anywhere: PostgreSQL cannot store one.
_TEXT = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_TEXT)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_TEXT)]
# One @ between parts without a control character (Unicode's Cc), any space or line
# break (its separators: Zs, Zl, Zp, such as U+00A0 and U+2028), or an invisible
# format character of the Basic Multilingual Plane (Cf: U+200B, U+202E, U+FEFF...),
# which would make two addresses that look alike, spelled out: `\s` means other
# characters to JSON Schema than to pydantic, and not every regex engine knows
# `\p{Z}` (Python's re does not).
_ADDRESS_PART = (
    r"[^@\x00-\x20\x7f-\xa0\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    r"\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u3000\ufeff"
    r"\ufff9-\ufffb]+"
)


def _lowercase(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


# Kept lowercase, so one address is one user. Lowercased before it is checked, as it
# is stored: lowercasing may lengthen it ("\u0130" becomes two characters) past its
# column, so an address its schema allows may still be too long (the one exception).
Email = Annotated[
    str,
    BeforeValidator(_lowercase),
    StringConstraints(max_length=255, pattern=f"^{_ADDRESS_PART}@{_ADDRESS_PART}$"),
]
Quantity = Annotated[int, Field(gt=0, le=1_000_000)]
# Money travels as a decimal string ("19.99"): a JSON number would pass through
# binary floating point on the client's side. Python callers may pass a Decimal.
MONEY = r"^(0|[1-9][0-9]{0,7})(\.[0-9]{1,2})?$"


def _money(value: object) -> object:
    if isinstance(value, Decimal) or (
        isinstance(value, str) and re.fullmatch(MONEY, value)
    ):
        return value
    raise ValueError("money is a string of up to 8 digits and 2 decimals: '19.99'")


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    Field(ge=0, max_digits=10, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": MONEY, "examples": ["19.99"]}),
]


# Users ---------------------------------------------------------------------------


class UserBase(SQLModel):
    email: str = Field(max_length=255, unique=True, index=True)
    name: str = Field(max_length=100)


class User(UserBase, table=True):
    """Someone who places orders; known by a unique e-mail address."""

    # Plural table names: `user` and `order` are reserved words in SQL.
    __tablename__ = "users"

    id: int | None = primary_key()
    created_at: datetime = creation_time()

    # The database deletes a user's orders (ON DELETE CASCADE); the ORM lets it.
    orders: list["Order"] = Relationship(
        back_populates="user", cascade_delete=True, passive_deletes=True
    )


class UserCreate(UserBase):
    email: Email
    name: Name


# What a PATCH leaves out stays as it is; null is no value for a field a row requires.
class UserUpdate(SQLModel):
    email: Email | MISSING = MISSING
    name: Name | MISSING = MISSING


class UserPublic(UserBase):
    id: int
    created_at: datetime


# Orders --------------------------------------------------------------------------


class OrderBase(SQLModel):
    total: Decimal = Field(default=Decimal("0.00"), max_digits=10, decimal_places=2)
    status: str = Field(
        default="pending",
        max_length=20,
        index=True,
        sa_column_kwargs={"server_default": "pending"},
    )


class Order(OrderBase, table=True):
    """A user's order: a money total kept exact, and where it stands."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ({})".format(", ".join(f"'{s}'" for s in ORDER_STATUSES)),
            name="status",
        ),
    )

    id: int | None = primary_key()
    user_id: int = Field(
        foreign_key="users.id", ondelete="CASCADE", index=True, sa_type=BigInteger
    )
    created_at: datetime = creation_time()

    user: User = Relationship(back_populates="orders")
    items: list["Item"] = Relationship(
        back_populates="order", cascade_delete=True, passive_deletes=True
    )


class OrderCreate(OrderBase):
    total: Money = Decimal("0.00")
    status: OrderStatus = "pending"


class OrderUpdate(SQLModel):
    total: Money | MISSING = MISSING
    status: OrderStatus | MISSING = MISSING


class OrderPublic(OrderBase):
    id: int
    user_id: int
    created_at: datetime


# Items ---------------------------------------------------------------------------


class ItemBase(SQLModel):
    sku: str = Field(max_length=64)
    quantity: int = Field(default=1, sa_type=BigInteger)
    unit_price: Decimal = Field(max_digits=10, decimal_places=2)


class Item(ItemBase, table=True):
    """One line of an order: a product (by SKU), how many, and at what price."""

    __tablename__ = "order_items"
    # One line per product per order; the unique index also serves order_id lookups.
    __table_args__ = (
        UniqueConstraint("order_id", "sku"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: int | None = primary_key()
    order_id: int = Field(
        foreign_key="orders.id", ondelete="CASCADE", sa_type=BigInteger
    )

    order: Order = Relationship(back_populates="items")


class ItemCreate(ItemBase):
    sku: Sku
    quantity: Quantity = 1
    unit_price: Money


class ItemUpdate(SQLModel):
    quantity: Quantity | MISSING = MISSING
    unit_price: Money | MISSING = MISSING


class ItemPublic(ItemBase):
    id: int
    order_id: int
