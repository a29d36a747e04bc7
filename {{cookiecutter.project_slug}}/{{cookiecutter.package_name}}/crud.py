{%- set aio = cookiecutter.stack == "async" -%}
{%- set ad = "async " if aio else "" -%}
{%- set aw = "await " if aio else "" -%}
{%- set session_type = "AsyncSession" if aio else "Session" -%}
"""Reading and writing the example models: sessions in use{% if cookiecutter.include_api == "y" %}, with or without an API{% endif %}.

Each function takes the session it works in and commits its own change, so a caller
(a request handler, a script, a test) gets a finished change or an exception:
`NotFound` when a row it names does not exist (a parent deleted meanwhile included),
`Conflict` when the database refuses the change (a duplicate e-mail address, a row
deleted between being read and being changed). A row comes back as it was committed,
read before the commit: another client may delete it right after. Replace this module
with your own when the example models go.
"""

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
{%- if cookiecutter.stack == "async" %}
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
{%- else %}
from sqlmodel import Session, SQLModel, col, select
{%- endif %}
from sqlmodel.sql.expression import SelectOfScalar

from .errors import Conflict, NotFound
from .models.examples import (
    Item,
    ItemCreate,
    ItemUpdate,
    Order,
    OrderCreate,
    OrderUpdate,
    User,
    UserCreate,
    UserUpdate,
)

# A TypeVar, not 3.12's `def f[Row]` syntax: the module runs on every Python the
# project supports.
Row = TypeVar("Row", bound=SQLModel)
EMAIL_TAKEN = "a user with this e-mail address already exists"
SKU_TAKEN = "the order already has an item with this SKU"


# Users ---------------------------------------------------------------------------


{{ ad }}def create_user(session: {{ session_type }}, data: UserCreate) -> User:
    user = User.model_validate(data)
    return {{ aw }}_save(session, user, Conflict(EMAIL_TAKEN))


{{ ad }}def get_user(session: {{ session_type }}, user_id: int) -> User:
    return {{ aw }}_get(session, User, user_id)

{% if aio %}
async def list_users(
    session: AsyncSession, offset: int = 0, limit: int = 50
) -> Sequence[User]:
{%- else %}
def list_users(session: Session, offset: int = 0, limit: int = 50) -> Sequence[User]:
{%- endif %}
    return {{ aw }}_page(session, select(User).order_by(col(User.id)), offset, limit)


{{ ad }}def update_user(session: {{ session_type }}, user_id: int, data: UserUpdate) -> User:
    user = {{ aw }}_get(session, User, user_id)
    user.sqlmodel_update(data.model_dump(exclude_unset=True))
    return {{ aw }}_save(session, user, Conflict(EMAIL_TAKEN))


{{ ad }}def delete_user(session: {{ session_type }}, user_id: int) -> None:
    """Delete a user; the database deletes their orders and items (ON DELETE)."""
    {{ aw }}_delete(session, {{ aw }}_get(session, User, user_id))


# Orders --------------------------------------------------------------------------


{{ ad }}def create_order(session: {{ session_type }}, user_id: int, data: OrderCreate) -> Order:
    order = Order.model_validate(data, update={"user_id": user_id})
    # An order's one reference is its user: no query beforehand to look for it (a hot
    # path), the foreign key says so.
    return {{ aw }}_save(session, order, NotFound(f"user {user_id} does not exist"))


{{ ad }}def get_order(session: {{ session_type }}, order_id: int) -> Order:
    return {{ aw }}_get(session, Order, order_id)


{{ ad }}def list_orders(
    session: {{ session_type }}, user_id: int, offset: int = 0, limit: int = 50
) -> Sequence[Order]:
    {{ aw }}_get(session, User, user_id)
    query = select(Order).where(Order.user_id == user_id).order_by(col(Order.id))
    return {{ aw }}_page(session, query, offset, limit)

{% if aio %}
async def update_order(
    session: AsyncSession, order_id: int, data: OrderUpdate
) -> Order:
{%- else %}
def update_order(session: Session, order_id: int, data: OrderUpdate) -> Order:
{%- endif %}
    order = {{ aw }}_get(session, Order, order_id)
    order.sqlmodel_update(data.model_dump(exclude_unset=True))
    return {{ aw }}_save(session, order)


{{ ad }}def delete_order(session: {{ session_type }}, order_id: int) -> None:
    {{ aw }}_delete(session, {{ aw }}_get(session, Order, order_id))


# Items ---------------------------------------------------------------------------


{{ ad }}def add_item(session: {{ session_type }}, order_id: int, data: ItemCreate) -> Item:
    item = Item.model_validate(data, update={"order_id": order_id})
    try:
        return {{ aw }}_save(session, item, Conflict(SKU_TAKEN))
    except Conflict:
        # Two keys may refuse it: the order's SKUs, or the foreign key when the order
        # is gone (never there, or deleted meanwhile). Only then is it NotFound.
        {{ aw }}_get(session, Order, order_id)
        raise


{{ ad }}def list_items(
    session: {{ session_type }}, order_id: int, offset: int = 0, limit: int = 50
) -> Sequence[Item]:
    {{ aw }}_get(session, Order, order_id)
    query = select(Item).where(Item.order_id == order_id).order_by(col(Item.id))
    return {{ aw }}_page(session, query, offset, limit)


{{ ad }}def update_item(session: {{ session_type }}, item_id: int, data: ItemUpdate) -> Item:
    item = {{ aw }}_get(session, Item, item_id)
    item.sqlmodel_update(data.model_dump(exclude_unset=True))
    return {{ aw }}_save(session, item)


{{ ad }}def delete_item(session: {{ session_type }}, item_id: int) -> None:
    {{ aw }}_delete(session, {{ aw }}_get(session, Item, item_id))


# Shared steps --------------------------------------------------------------------


{{ ad }}def _get(session: {{ session_type }}, model: type[Row], row_id: int) -> Row:  # noqa: UP047
    row = {{ aw }}session.get(model, row_id)
    if row is None:
        raise NotFound(f"{model.__name__.lower()} {row_id} does not exist")
    return row


{{ ad }}def _save(  # noqa: UP047
    session: {{ session_type }}, row: Row, refused: Exception | None = None
) -> Row:
    """Commit `row` and return it as committed: raise `refused` when a key of the
    database refuses it, Conflict when another client deleted it since it was read."""
    session.add(row)
    try:
        {{ aw }}session.flush()
        # Read it back (its id, its values as stored) before the commit: once it is
        # committed, another client may delete it (its parent's cascade too). A locking
        # read sees the latest commit, as the UPDATE did, on every database (a plain
        # one may see the snapshot its transaction began with).
        stored = {{ aw }}session.get(
            type(row),
            inspect(row).identity,
            populate_existing=True,
            with_for_update={"read": True},
        )
    except IntegrityError:
        {{ aw }}session.rollback()
        if refused is None:
            raise
        # A unique key or a foreign key refused the row: the caller's data, not a bug.
        raise refused from None
    except StaleDataError:
        stored = None  # its UPDATE found no row
    if stored is None:
        # Deleted since it was read (with nothing to update, no UPDATE says so).
        gone = f"{type(row).__name__.lower()} {inspect(row).identity[0]}"
        {{ aw }}session.rollback()
        raise Conflict(f"{gone} was deleted meanwhile")
    {{ aw }}session.commit()
    return row


{{ ad }}def _page(  # noqa: UP047
    session: {{ session_type }}, query: SelectOfScalar[Row], offset: int, limit: int
) -> Sequence[Row]:
{%- if cookiecutter.stack == "async" %}
    return (await session.exec(query.offset(offset).limit(limit))).all()
{%- else %}
    return session.exec(query.offset(offset).limit(limit)).all()
{%- endif %}


{{ ad }}def _delete(session: {{ session_type }}, row: SQLModel) -> None:
    {{ aw }}session.delete(row)
    {{ aw }}session.commit()
