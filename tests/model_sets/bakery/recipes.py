"""A bakery's products, priced and described, and the ingredients each recipe uses."""

from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class BakedGood(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (sa.CheckConstraint("price > 0", name="positive_price"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    price: Decimal = Field(max_digits=8, decimal_places=2)
    # No max_length: SQLModel's AutoString, VARCHAR on PostgreSQL and SQLite and
    # VARCHAR(255) on MySQL and MariaDB.
    description: str
    vegan: bool = False


class RecipeLine(SQLModel, table=True):
    __tablename__ = "recipe_lines"

    product_id: int = Field(foreign_key="products.id", primary_key=True, ondelete="CASCADE")
    ingredient_id: int = Field(foreign_key="ingredients.id", primary_key=True)
    grams: int
