"""Example tables: users place orders, and orders hold items.

Delete this module (and tests/test_examples.py) when your own models arrive; the
helpers in columns.py stay useful to them.
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from .columns import creation_time, primary_key

ORDER_STATUSES = ("pending", "paid", "shipped", "cancelled")


class User(SQLModel, table=True):
    """Someone who places orders; known by a unique e-mail address."""

    # Plural table names: `user` and `order` are reserved words in SQL.
    __tablename__ = "users"

    id: int | None = primary_key()
    email: str = Field(max_length=255, unique=True, index=True)
    name: str = Field(max_length=100)
    created_at: datetime = creation_time()

    # The database deletes a user's orders (ON DELETE CASCADE); the ORM lets it.
    orders: list["Order"] = Relationship(
        back_populates="user", cascade_delete=True, passive_deletes=True
    )


class Order(SQLModel, table=True):
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
    total: Decimal = Field(default=Decimal("0.00"), max_digits=10, decimal_places=2)
    status: str = Field(
        default="pending",
        max_length=20,
        index=True,
        sa_column_kwargs={"server_default": "pending"},
    )
    created_at: datetime = creation_time()

    user: User = Relationship(back_populates="orders")
    items: list["Item"] = Relationship(
        back_populates="order", cascade_delete=True, passive_deletes=True
    )


class Item(SQLModel, table=True):
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
    sku: str = Field(max_length=64)
    quantity: int = Field(default=1, sa_type=BigInteger)
    unit_price: Decimal = Field(max_digits=10, decimal_places=2)

    order: Order = Relationship(back_populates="items")
