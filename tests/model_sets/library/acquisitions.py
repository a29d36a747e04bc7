"""Buying stock: suppliers, purchase orders raised by a branch, and their order lines."""

from datetime import date
from decimal import Decimal

from sqlmodel import Field, Relationship, SQLModel


class Vendor(SQLModel, table=True):
    __tablename__ = "vendors"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=150, unique=True)
    account_ref: str | None = Field(default=None, max_length=40)
    orders: list["PurchaseOrder"] = Relationship(back_populates="vendor")


class PurchaseOrder(SQLModel, table=True):
    __tablename__ = "purchase_orders"

    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="vendors.id", index=True)
    branch_id: int = Field(foreign_key="branches.id", index=True)
    raised_by_id: int | None = Field(default=None, foreign_key="staff.id")
    ordered_on: date
    vendor: Vendor = Relationship(back_populates="orders")
    lines: list["PurchaseLine"] = Relationship(back_populates="order", cascade_delete=True)


class PurchaseLine(SQLModel, table=True):
    __tablename__ = "purchase_order_lines"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="purchase_orders.id", index=True, ondelete="CASCADE")
    edition_id: int = Field(foreign_key="editions.id", index=True)
    quantity: int = 1
    unit_price: Decimal = Field(max_digits=10, decimal_places=2)
    order: PurchaseOrder = Relationship(back_populates="lines")
