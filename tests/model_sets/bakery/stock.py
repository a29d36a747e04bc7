"""Ingredients in the store room and batches out of the oven, neither counted below zero."""

from datetime import UTC, date, datetime
from functools import partial

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Ingredient(SQLModel, table=True):
    __tablename__ = "ingredients"
    __table_args__ = (sa.CheckConstraint("quantity >= 0"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    unit: str = Field(default="g", max_length=10)
    quantity: int = 0
    counted_at: datetime = Field(default_factory=partial(datetime.now, UTC))


class Batch(SQLModel, table=True):
    __tablename__ = "batches"
    __table_args__ = (sa.CheckConstraint("quantity >= 0"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id", index=True)
    baked_on: date
    quantity: int
    sold: int = 0
