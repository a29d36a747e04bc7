"""What the example models promise, checked on the migrated schema.

Delete this module with models/examples.py: the migration tests hold for any models.
"""
{%- if cookiecutter.stack == "async" %}

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from {{ cookiecutter.package_name }} import crud
from {{ cookiecutter.package_name }}.errors import Conflict, NotFound
from {{ cookiecutter.package_name }}.models.examples import (
    Item,
    ItemCreate,
    Order,
    OrderCreate,
    User,
    UserCreate,
    UserUpdate,
)

# An AsyncSession reads nothing behind an attribute: what was expired, or a
# relationship, is loaded by awaiting session.refresh(row, [names]).


async def add_user(session: AsyncSession, email: str = "ada@example.com") -> User:
    user = User(email=email, name="Ada")
    session.add(user)
    await session.commit()
    return user


async def add_order(session: AsyncSession, user: User, *skus: str) -> Order:
    assert user.id is not None
    order = Order(user_id=user.id, total=Decimal("19.98"))
    session.add(order)
    await session.flush()  # numbers the order
    assert order.id is not None
    price = Decimal("9.99")
    for sku in skus:
        session.add(Item(order_id=order.id, sku=sku, quantity=2, unit_price=price))
    await session.commit()
    return order


async def run_sql(session: AsyncSession, sql: str, **params: object) -> None:
    """Plain SQL on the session's connection, as a data migration would write."""
    await (await session.connection()).execute(text(sql), params)


async def test_email_is_unique(session: AsyncSession) -> None:
    await add_user(session)
    session.add(User(email="ada@example.com", name="Another Ada"))
    with pytest.raises(IntegrityError):
        await session.commit()


async def test_relationships_work_both_ways(session: AsyncSession) -> None:
    user = await add_user(session)
    order = await add_order(session, user, "BOOK-1", "PEN-2")
    session.expire_all()
    await session.refresh(user, ["id", "email", "orders"])
    await session.refresh(order, ["id", "user", "items"])

    assert [o.id for o in user.orders] == [order.id]
    assert order.user.email == "ada@example.com"
    assert sorted(item.sku for item in order.items) == ["BOOK-1", "PEN-2"]
    for item in order.items:
        await session.refresh(item, ["order"])
        assert item.order.id == order.id


async def test_deleting_a_user_deletes_their_orders_and_items(
    session: AsyncSession,
) -> None:
    user = await add_user(session)
    await add_order(session, user, "BOOK-1")
    await session.delete(user)
    await session.commit()

    assert (await session.exec(select(Order))).all() == []
    assert (await session.exec(select(Item))).all() == []


async def test_database_cascades_without_the_orm(session: AsyncSession) -> None:
    user = await add_user(session)
    await add_order(session, user, "BOOK-1")
    await run_sql(session, "DELETE FROM users WHERE id = :id", id=user.id)
    session.expire_all()

    assert (await session.exec(select(Item))).all() == []


async def test_timestamps_are_timezone_aware(session: AsyncSession) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    user = await add_user(session)
    session.expire_all()
    await session.refresh(user)

    assert user.created_at.tzinfo is not None
    assert user.created_at >= before


async def test_server_default_timestamp_is_timezone_aware(
    session: AsyncSession,
) -> None:
    # Rows written by plain SQL (a data migration, say) get the database's timestamp.
    await run_sql(
        session, "INSERT INTO users (email, name) VALUES ('sql@example.com', 'Sq')"
    )
    query = select(User).where(User.email == "sql@example.com")
    user = (await session.exec(query)).one()

    assert user.created_at.tzinfo is not None


async def test_money_is_kept_exact(session: AsyncSession) -> None:
    order = await add_order(session, await add_user(session))
    order.total = Decimal("12345678.91")
    await session.commit()
    session.expire_all()
    await session.refresh(order)

    assert order.total == Decimal("12345678.91")
    assert isinstance(order.total, Decimal)


async def test_order_status_defaults_to_pending_and_rejects_unknown_values(
    session: AsyncSession,
) -> None:
    user = await add_user(session)
    order = await add_order(session, user)
    assert order.status == "pending"

    order.status = "lost"
    with pytest.raises(IntegrityError):
        await session.commit()


async def test_isolation_each_test_starts_empty(session: AsyncSession) -> None:
    assert (await session.exec(select(User))).all() == []


# crud.py: what scripts and services call.


async def test_crud_creates_and_reads_back(session: AsyncSession) -> None:
    ada = UserCreate(email="Ada@Example.com", name="Ada")
    user = await crud.create_user(session, ada)
    assert user.id is not None and user.email == "ada@example.com"  # kept lowercase
    order = await crud.create_order(session, user.id, OrderCreate(total=Decimal("5")))
    assert order.id is not None
    pen = ItemCreate(sku="PEN", unit_price=Decimal("2.50"))
    await crud.add_item(session, order.id, pen)

    assert await crud.list_orders(session, user.id) == [order]
    assert [item.sku for item in await crud.list_items(session, order.id)] == ["PEN"]
    renamed = await crud.update_user(session, user.id, UserUpdate(name="Ada L."))
    assert renamed.name == "Ada L." and renamed.email == "ada@example.com"


async def test_crud_refusals_are_domain_errors(session: AsyncSession) -> None:
    ada = UserCreate(email="ada@example.com", name="Ada")
    user_id = (await crud.create_user(session, ada)).id
    assert user_id is not None
    with pytest.raises(Conflict, match="already exists"):
        await crud.create_user(session, ada)
    with pytest.raises(NotFound, match="user 999 does not exist"):
        await crud.create_order(session, 999, OrderCreate())
    # After a refusal the session works on. Its rollback expired the rows it held:
    # keep the values you need (here the id), or refresh the rows.
    await crud.delete_user(session, user_id)
    with pytest.raises(NotFound):
        await crud.get_user(session, user_id)
{%- else %}

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from {{ cookiecutter.package_name }} import crud
from {{ cookiecutter.package_name }}.errors import Conflict, NotFound
from {{ cookiecutter.package_name }}.models.examples import (
    Item,
    ItemCreate,
    Order,
    OrderCreate,
    User,
    UserCreate,
    UserUpdate,
)


def add_user(session: Session, email: str = "ada@example.com") -> User:
    user = User(email=email, name="Ada")
    session.add(user)
    session.commit()
    return user


def add_order(session: Session, user: User, *skus: str) -> Order:
    assert user.id is not None
    order = Order(user_id=user.id, total=Decimal("19.98"))
    session.add(order)
    session.flush()  # numbers the order
    assert order.id is not None
    price = Decimal("9.99")
    for sku in skus:
        session.add(Item(order_id=order.id, sku=sku, quantity=2, unit_price=price))
    session.commit()
    return order


def run_sql(session: Session, sql: str, **params: object) -> None:
    """Plain SQL on the session's connection, as a data migration would write."""
    session.connection().execute(text(sql), params)


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
    run_sql(session, "DELETE FROM users WHERE id = :id", id=user.id)
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
    run_sql(session, "INSERT INTO users (email, name) VALUES ('sql@example.com', 'Sq')")
    user = session.exec(select(User).where(User.email == "sql@example.com")).one()

    assert user.created_at.tzinfo is not None


def test_money_is_kept_exact(session: Session) -> None:
    order = add_order(session, add_user(session))
    order.total = Decimal("12345678.91")
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


# crud.py: what {% if cookiecutter.include_api == "y" %}the API calls, and what {% endif %}scripts use{% if cookiecutter.include_api == "y" %} without it{% endif %}.


def test_crud_creates_and_reads_back(session: Session) -> None:
    user = crud.create_user(session, UserCreate(email="Ada@Example.com", name="Ada"))
    assert user.id is not None and user.email == "ada@example.com"  # kept lowercase
    order = crud.create_order(session, user.id, OrderCreate(total=Decimal("5.00")))
    assert order.id is not None
    crud.add_item(session, order.id, ItemCreate(sku="PEN", unit_price=Decimal("2.50")))

    assert crud.list_orders(session, user.id) == [order]
    assert [item.sku for item in crud.list_items(session, order.id)] == ["PEN"]
    renamed = crud.update_user(session, user.id, UserUpdate(name="Ada L."))
    assert renamed.name == "Ada L." and renamed.email == "ada@example.com"


def test_crud_refusals_are_domain_errors(session: Session) -> None:
    user = crud.create_user(session, UserCreate(email="ada@example.com", name="Ada"))
    assert user.id is not None
    with pytest.raises(Conflict, match="already exists"):
        crud.create_user(session, UserCreate(email="ada@example.com", name="Ada 2"))
    with pytest.raises(NotFound, match="user 999 does not exist"):
        crud.create_order(session, 999, OrderCreate())
    # After a refusal the session works on.
    crud.delete_user(session, user.id)
    with pytest.raises(NotFound):
        crud.get_user(session, user.id)
{%- endif %}
