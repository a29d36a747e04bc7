"""What the models promise, checked on the migrated schema."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from {{ cookiecutter.package_name }}.models import (
    Item,
    Order,
    User,
)


def add_user(session: Session, email: str = "ada@example.com") -> User:
    user = User(email=email, name="Ada")
    session.add(user)
    session.commit()
    return user


def add_order(session: Session, user: User, *skus: str) -> Order:
    order = Order(user=user, total=Decimal("19.98"))
    price = Decimal("9.99")
    order.items = [Item(sku=sku, quantity=2, unit_price=price) for sku in skus]
    session.add(order)
    session.commit()
    return order


def test_email_is_unique(session: Session) -> None:
    add_user(session)
    session.add(User(email="ada@example.com", name="Another Ada"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_relationships_work_both_ways(session: Session) -> None:
    user = add_user(session)
    order = add_order(session, user, "BOOK-1", "PEN-2")
    session.expire_all()

    assert [o.id for o in user.orders] == [order.id]
    assert order.user.email == "ada@example.com"
    assert sorted(item.sku for item in order.items) == ["BOOK-1", "PEN-2"]
    assert all(item.order.id == order.id for item in order.items)


def test_deleting_a_user_deletes_their_orders_and_items(session: Session) -> None:
    user = add_user(session)
    add_order(session, user, "BOOK-1")
    session.delete(user)
    session.commit()

    assert session.exec(select(Order)).all() == []
    assert session.exec(select(Item)).all() == []


def test_database_cascades_without_the_orm(session: Session) -> None:
    user = add_user(session)
    add_order(session, user, "BOOK-1")
    session.exec(text('DELETE FROM "user" WHERE id = :id').bindparams(id=user.id))
    session.expire_all()

    assert session.exec(select(Item)).all() == []


def test_timestamps_are_timezone_aware(session: Session) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    user = add_user(session)
    session.expire_all()

    assert user.created_at.tzinfo is not None
    assert user.created_at >= before


def test_server_default_timestamp_is_timezone_aware(session: Session) -> None:
    # Rows written by plain SQL (a data migration, say) get the database's timestamp.
    insert = "INSERT INTO \"user\" (email, name) VALUES ('sql@example.com', 'Sq')"
    session.exec(text(insert))
    user = session.exec(select(User).where(User.email == "sql@example.com")).one()

    assert user.created_at.tzinfo is not None


def test_money_is_kept_exact(session: Session) -> None:
    user = add_user(session)
    order = Order(user=user, total=Decimal("12345678.91"))
    session.add(order)
    session.commit()
    session.expire_all()

    assert order.total == Decimal("12345678.91")
    assert isinstance(order.total, Decimal)


def test_order_status_defaults_to_pending_and_rejects_unknown_values(
    session: Session,
) -> None:
    user = add_user(session)
    order = add_order(session, user)
    assert order.status == "pending"

    order.status = "lost"
    with pytest.raises(IntegrityError):
        session.commit()


def test_isolation_each_test_starts_empty(session: Session) -> None:
    assert session.exec(select(User)).all() == []
