{%- set ad = "async " if cookiecutter.stack == "async" else "" -%}
{%- set aw = "await " if cookiecutter.stack == "async" else "" -%}
"""Routes over the example models: users, their orders, and the orders' items.

Each handler is one call into crud.py; the errors it raises become 404 and 409 in
errors.py. Delete this module with the examples.
"""

from collections.abc import Sequence

from fastapi import APIRouter, status

from ... import crud
from ...models.examples import (
    Item,
    ItemCreate,
    ItemPublic,
    ItemUpdate,
    Order,
    OrderCreate,
    OrderPublic,
    OrderUpdate,
    User,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from ..deps import PageDep, RowId, SessionDep
from ..errors import responses

router = APIRouter(responses=responses(503))
CREATED = status.HTTP_201_CREATED
DELETED = status.HTTP_204_NO_CONTENT


# Users ---------------------------------------------------------------------------


@router.post(
    "/users",
    status_code=CREATED,
    response_model=UserPublic,
    responses=responses(400, 409),
)
{{ ad }}def create_user(db: SessionDep, data: UserCreate) -> User:
    return {{ aw }}crud.create_user(db, data)


@router.get("/users", response_model=list[UserPublic])
{{ ad }}def list_users(db: SessionDep, page: PageDep) -> Sequence[User]:
    return {{ aw }}crud.list_users(db, page.offset, page.limit)


@router.get("/users/{user_id}", response_model=UserPublic, responses=responses(404))
{{ ad }}def get_user(db: SessionDep, user_id: RowId) -> User:
    return {{ aw }}crud.get_user(db, user_id)


@router.patch(
    "/users/{user_id}", response_model=UserPublic, responses=responses(400, 404, 409)
)
{{ ad }}def update_user(db: SessionDep, user_id: RowId, data: UserUpdate) -> User:
    return {{ aw }}crud.update_user(db, user_id, data)


@router.delete("/users/{user_id}", status_code=DELETED, responses=responses(404))
{{ ad }}def delete_user(db: SessionDep, user_id: RowId) -> None:
    """Delete a user with their orders and items."""
    {{ aw }}crud.delete_user(db, user_id)


# Orders --------------------------------------------------------------------------


@router.post(
    "/users/{user_id}/orders",
    status_code=CREATED,
    response_model=OrderPublic,
    responses=responses(400, 404, 409),
)
{{ ad }}def create_order(db: SessionDep, user_id: RowId, data: OrderCreate) -> Order:
    return {{ aw }}crud.create_order(db, user_id, data)


@router.get(
    "/users/{user_id}/orders",
    response_model=list[OrderPublic],
    responses=responses(404),
)
{{ ad }}def list_orders(db: SessionDep, user_id: RowId, page: PageDep) -> Sequence[Order]:
    return {{ aw }}crud.list_orders(db, user_id, page.offset, page.limit)


@router.get("/orders/{order_id}", response_model=OrderPublic, responses=responses(404))
{{ ad }}def get_order(db: SessionDep, order_id: RowId) -> Order:
    return {{ aw }}crud.get_order(db, order_id)


@router.patch(
    "/orders/{order_id}", response_model=OrderPublic, responses=responses(400, 404, 409)
)
{{ ad }}def update_order(db: SessionDep, order_id: RowId, data: OrderUpdate) -> Order:
    return {{ aw }}crud.update_order(db, order_id, data)


@router.delete("/orders/{order_id}", status_code=DELETED, responses=responses(404))
{{ ad }}def delete_order(db: SessionDep, order_id: RowId) -> None:
    """Delete an order with its items."""
    {{ aw }}crud.delete_order(db, order_id)


# Items ---------------------------------------------------------------------------


@router.post(
    "/orders/{order_id}/items",
    status_code=CREATED,
    response_model=ItemPublic,
    responses=responses(400, 404, 409),
)
{{ ad }}def add_item(db: SessionDep, order_id: RowId, data: ItemCreate) -> Item:
    return {{ aw }}crud.add_item(db, order_id, data)


@router.get(
    "/orders/{order_id}/items",
    response_model=list[ItemPublic],
    responses=responses(404),
)
{{ ad }}def list_items(db: SessionDep, order_id: RowId, page: PageDep) -> Sequence[Item]:
    return {{ aw }}crud.list_items(db, order_id, page.offset, page.limit)


@router.patch(
    "/items/{item_id}", response_model=ItemPublic, responses=responses(400, 404, 409)
)
{{ ad }}def update_item(db: SessionDep, item_id: RowId, data: ItemUpdate) -> Item:
    return {{ aw }}crud.update_item(db, item_id, data)


@router.delete("/items/{item_id}", status_code=DELETED, responses=responses(404))
{{ ad }}def delete_item(db: SessionDep, item_id: RowId) -> None:
    {{ aw }}crud.delete_item(db, item_id)
