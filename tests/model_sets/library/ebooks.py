"""E-book licences bought per edition, and the digital loans drawn against them."""

from datetime import UTC, date, datetime
from functools import partial

from sqlmodel import Field, Relationship, SQLModel


class EbookLicense(SQLModel, table=True):
    __tablename__ = "ebook_licenses"

    id: int | None = Field(default=None, primary_key=True)
    edition_id: int = Field(foreign_key="editions.id", index=True)
    provider: str = Field(max_length=60)
    concurrent_users: int = 1
    expires_on: date | None = None
    loans: list["DigitalLoan"] = Relationship(back_populates="license")


class DigitalLoan(SQLModel, table=True):
    __tablename__ = "digital_loans"

    id: int | None = Field(default=None, primary_key=True)
    license_id: int = Field(foreign_key="ebook_licenses.id", index=True)
    patron_id: int = Field(foreign_key="patrons.id", index=True)
    started_at: datetime = Field(default_factory=partial(datetime.now, UTC))
    ends_at: datetime | None = None
    license: EbookLicense = Relationship(back_populates="loans")
