"""The tables: users place orders, and orders hold items."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Identity,
    Integer,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, Relationship, SQLModel

# Every constraint gets a predictable name, so a later migration can drop or alter it
# on any backend. It must be set before the first table class below: SQLAlchemy fixes
# constraint names when a table is defined.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ORDER_STATUSES = ("pending", "paid", "shipped", "cancelled")

# Set by the database too, so rows written by plain SQL (data migrations) get one.
_NOW = {"server_default": text("CURRENT_TIMESTAMP")}

# 64-bit keys, numbered by PostgreSQL identity columns (what squawk's lint asks for);
# SQLite numbers rows itself only for a column declared exactly INTEGER PRIMARY KEY.
BIGINT = BigInteger().with_variant(Integer(), "sqlite")


def primary_key() -> Any:
    """A bigint identity primary key (a plain auto-numbered INTEGER on SQLite)."""
    return Field(
        default=None, primary_key=True, sa_type=BIGINT, sa_column_args=[Identity()]
    )


def utcnow() -> datetime:
    """The current time, timezone-aware (naive datetimes are refused)."""
    return datetime.now(UTC)


class User(SQLModel, table=True):
    """Someone who places orders; known by a unique e-mail address."""

    # Plural table names: `user` and `order` are reserved words in SQL.
    __tablename__ = "users"
    id: int | None = primary_key()
    email: str = Field(max_length=255, unique=True, index=True)
    name: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column_kwargs=_NOW)

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
    created_at: datetime = Field(default_factory=utcnow, sa_column_kwargs=_NOW)

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
