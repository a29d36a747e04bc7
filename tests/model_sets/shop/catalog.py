"""A shop catalogue: exact prices, JSON attributes with a server default, composite
unique constraints and indexes, a boolean that the database defaults."""

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel


class Product(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (
        sa.UniqueConstraint("vendor", "code"),
        sa.Index("ix_products_vendor_price", "vendor", "price"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vendor: str = Field(max_length=50)
    code: str = Field(max_length=30)
    price: Decimal = Field(max_digits=12, decimal_places=2)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    attributes: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )


class Discontinued(SQLModel, table=True):
    __tablename__ = "discontinued"

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id")
