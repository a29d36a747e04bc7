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
def create_user(db: SessionDep, data: UserCreate) -> User:
    return crud.create_user(db, data)


@router.get("/users", response_model=list[UserPublic])
def list_users(db: SessionDep, page: PageDep) -> Sequence[User]:
    return crud.list_users(db, page.offset, page.limit)


@router.get("/users/{user_id}", response_model=UserPublic, responses=responses(404))
def get_user(db: SessionDep, user_id: RowId) -> User:
    return crud.get_user(db, user_id)


@router.patch(
    "/users/{user_id}", response_model=UserPublic, responses=responses(400, 404, 409)
)
def update_user(db: SessionDep, user_id: RowId, data: UserUpdate) -> User:
    return crud.update_user(db, user_id, data)


@router.delete("/users/{user_id}", status_code=DELETED, responses=responses(404))
def delete_user(db: SessionDep, user_id: RowId) -> None:
    """Delete a user with their orders and items."""
    crud.delete_user(db, user_id)


# Orders --------------------------------------------------------------------------


@router.post(
    "/users/{user_id}/orders",
    status_code=CREATED,
    response_model=OrderPublic,
    responses=responses(400, 404, 409),
)
def create_order(db: SessionDep, user_id: RowId, data: OrderCreate) -> Order:
    return crud.create_order(db, user_id, data)


@router.get(
    "/users/{user_id}/orders",
    response_model=list[OrderPublic],
    responses=responses(404),
)
def list_orders(db: SessionDep, user_id: RowId, page: PageDep) -> Sequence[Order]:
    return crud.list_orders(db, user_id, page.offset, page.limit)


@router.get("/orders/{order_id}", response_model=OrderPublic, responses=responses(404))
def get_order(db: SessionDep, order_id: RowId) -> Order:
    return crud.get_order(db, order_id)


@router.patch(
    "/orders/{order_id}", response_model=OrderPublic, responses=responses(400, 404, 409)
)
def update_order(db: SessionDep, order_id: RowId, data: OrderUpdate) -> Order:
    return crud.update_order(db, order_id, data)


@router.delete("/orders/{order_id}", status_code=DELETED, responses=responses(404))
def delete_order(db: SessionDep, order_id: RowId) -> None:
    """Delete an order with its items."""
    crud.delete_order(db, order_id)


# Items ---------------------------------------------------------------------------


@router.post(
    "/orders/{order_id}/items",
    status_code=CREATED,
    response_model=ItemPublic,
    responses=responses(400, 404, 409),
)
def add_item(db: SessionDep, order_id: RowId, data: ItemCreate) -> Item:
    return crud.add_item(db, order_id, data)


@router.get(
    "/orders/{order_id}/items",
    response_model=list[ItemPublic],
    responses=responses(404),
)
def list_items(db: SessionDep, order_id: RowId, page: PageDep) -> Sequence[Item]:
    return crud.list_items(db, order_id, page.offset, page.limit)


@router.patch(
    "/items/{item_id}", response_model=ItemPublic, responses=responses(400, 404, 409)
)
def update_item(db: SessionDep, item_id: RowId, data: ItemUpdate) -> Item:
    return crud.update_item(db, item_id, data)


@router.delete("/items/{item_id}", status_code=DELETED, responses=responses(404))
def delete_item(db: SessionDep, item_id: RowId) -> None:
    crud.delete_item(db, item_id)
