"""The example API over HTTP, on the migrated database: every answer a client can get.

Delete this module with models/examples.py, crud.py and api/routes/examples.py.
"""

import unicodedata
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import delete, make_url

from {{ cookiecutter.package_name }}.api import create_app
from {{ cookiecutter.package_name }}.api.deps import database
from {{ cookiecutter.package_name }}.db import create_db_engine
from {{ cookiecutter.package_name }}.models.examples import (
    Order,
    User,
    UserCreate,
)

from .conftest import UNREACHABLE_URL, Meanwhile

Json = dict[str, Any]


def created(response: Any) -> Json:
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


def new_user(api: TestClient, email: str = "ada@example.com") -> Json:
    return created(api.post("/users", json={"email": email, "name": "Ada"}))


def new_order(api: TestClient, user_id: int, total: str = "19.98") -> Json:
    return created(api.post(f"/users/{user_id}/orders", json={"total": total}))


def new_item(api: TestClient, order_id: int, sku: str = "BOOK-1") -> Json:
    item = {"sku": sku, "quantity": 2, "unit_price": "9.99"}
    return created(api.post(f"/orders/{order_id}/items", json=item))


def test_a_user_round_trip(api: TestClient) -> None:
    user = new_user(api)
    assert user["email"] == "ada@example.com" and user["id"] >= 1
    assert api.get(f"/users/{user['id']}").json() == user

    changed = api.patch(f"/users/{user['id']}", json={"name": "Ada L."})
    assert changed.status_code == 200 and changed.json()["name"] == "Ada L."
    assert changed.json()["email"] == "ada@example.com"  # untouched

    assert api.delete(f"/users/{user['id']}").status_code == 204
    assert api.get(f"/users/{user['id']}").status_code == 404


def test_orders_and_items_belong_to_their_parents(api: TestClient) -> None:
    user = new_user(api)
    order = new_order(api, user["id"])
    assert order["user_id"] == user["id"] and order["status"] == "pending"
    assert order["total"] == "19.98"  # money travels as an exact string
    item = new_item(api, order["id"])

    assert api.get(f"/users/{user['id']}/orders").json() == [order]
    assert api.get(f"/orders/{order['id']}/items").json() == [item]
    paid = api.patch(f"/orders/{order['id']}", json={"status": "paid"})
    assert paid.json()["status"] == "paid"
    more = api.patch(f"/items/{item['id']}", json={"quantity": 3})
    assert more.json()["quantity"] == 3
    assert api.delete(f"/items/{item['id']}").status_code == 204
    assert api.get(f"/orders/{order['id']}/items").json() == []


def test_deleting_a_user_deletes_their_orders_and_items(api: TestClient) -> None:
    user = new_user(api)
    order = new_order(api, user["id"])
    item = new_item(api, order["id"])
    assert api.delete(f"/users/{user['id']}").status_code == 204

    assert api.get(f"/orders/{order['id']}").status_code == 404
    assert api.patch(f"/items/{item['id']}", json={"quantity": 1}).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/users/999"),
        ("PATCH", "/users/999"),
        ("DELETE", "/users/999"),
        ("GET", "/users/999/orders"),
        ("POST", "/users/999/orders"),
        ("GET", "/orders/999"),
        ("DELETE", "/orders/999"),
        ("GET", "/orders/999/items"),
        ("POST", "/orders/999/items"),
        ("DELETE", "/items/999"),
    ],
)
def test_an_unknown_id_is_404(api: TestClient, method: str, path: str) -> None:
    body = {"sku": "X", "unit_price": "1.00"} if path.endswith("items") else {}
    response = api.request(method, path, json=body)
    assert response.status_code == 404, response.text
    assert response.json()["detail"].endswith("999 does not exist")


def test_a_duplicate_email_is_409(api: TestClient) -> None:
    new_user(api)
    again = api.post("/users", json={"email": "ADA@example.com", "name": "Ada 2"})
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    other = new_user(api, "grace@example.com")
    taken = api.patch(f"/users/{other['id']}", json={"email": "ada@example.com"})
    assert taken.status_code == 409


def test_a_duplicate_sku_in_one_order_is_409(api: TestClient) -> None:
    order = new_order(api, new_user(api)["id"])
    new_item(api, order["id"], "PEN")
    item = {"sku": "PEN", "unit_price": "1.00"}
    assert api.post(f"/orders/{order['id']}/items", json=item).status_code == 409


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/users", {"email": "not-an-address", "name": "Ada"}),
        ("/users", {"email": "ada@example.com", "name": ""}),
        ("/users", {"email": "ada@example.com", "name": "A\x00da"}),
        ("/users", {"email": "ada@example.com"}),
        ("/users/{user}/orders", {"status": "lost"}),
        ("/users/{user}/orders", {"total": 19.98}),  # a float: money is a string
        ("/users/{user}/orders", {"total": "123456789.00"}),
        ("/users/{user}/orders", {"total": "-1.00"}),
        ("/orders/{order}/items", {"sku": "PEN", "unit_price": "1.00", "quantity": 0}),
        ("/orders/{order}/items", {"sku": "PEN", "unit_price": "1.001"}),
    ],
)
def test_an_invalid_body_is_422(api: TestClient, path: str, body: Json) -> None:
    user = new_user(api)
    order = new_order(api, user["id"])
    url = path.format(user=user["id"], order=order["id"])
    response = api.post(url, json=body)
    assert response.status_code == 422, response.text


# Spaces and line breaks of every kind (Unicode's separators), control characters, and
# the invisible format characters of the Basic Multilingual Plane (U+200B, U+FEFF...).
NOT_IN_AN_ADDRESS = [
    chr(code)
    for code in range(0x110000)
    if unicodedata.category(chr(code)) in ("Zs", "Zl", "Zp", "Cc")
    or (unicodedata.category(chr(code)) == "Cf" and code < 0x10000)
]


def test_no_space_break_control_or_invisible_character_passes_in_an_address() -> None:
    passed = []
    for character in NOT_IN_AN_ADDRESS:
        for email in (f"a{character}b@example.com", f"ab@exa{character}mple.com"):
            try:
                UserCreate(email=email, name="Ada")
            except ValidationError:
                continue
            passed.append(email)
    assert passed == []


@pytest.mark.parametrize(
    "email",
    [
        "\u0130" * 200 + "@example.com",  # 212 characters, 412 once lowercased
        "ada\u2028@example.com",  # line separator
        "ada\u2029@example.com",  # paragraph separator
        "ada@exam\u00a0ple.com",  # no-break space
        "ada\u3000@example.com",  # ideographic space
    ],
    ids=["lowercased-too-long", "U+2028", "U+2029", "U+00A0", "U+3000"],
)
def test_an_address_that_cannot_be_stored_as_one_is_422(
    api: TestClient, email: str
) -> None:
    response = api.post("/users", json={"email": email, "name": "Ada"})
    assert response.status_code == 422, response.text
    assert api.get("/users").json() == []


def test_an_address_is_measured_once_lowercased(api: TestClient) -> None:
    # U+0130 lowercases to two characters: 100 of them still fit the column.
    email = "\u0130" * 100 + "@example.com"
    user = new_user(api, email)
    assert user["email"] == email.lower() and len(user["email"]) == 212


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("user", "email"),
        ("user", "name"),
        ("order", "total"),
        ("order", "status"),
        ("item", "quantity"),
        ("item", "unit_price"),
    ],
)
def test_a_patch_cannot_set_a_required_field_to_null(
    api: TestClient, kind: str, field: str
) -> None:
    user = new_user(api)
    order = new_order(api, user["id"])
    rows = {"user": user, "order": order, "item": new_item(api, order["id"])}
    url = f"/{kind}s/{rows[kind]['id']}"
    response = api.patch(url, json={field: None})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", field]
    # Nothing changed; a field left out is still left as it is.
    assert api.patch(url, json={}).json() == rows[kind]


# A change, and one that changes nothing (the database gets no UPDATE to refuse).
@pytest.mark.parametrize("status", ["paid", "pending"])
def test_a_change_to_a_row_deleted_meanwhile_is_409(
    api: TestClient, meanwhile: Meanwhile, status: str
) -> None:
    order = new_order(api, new_user(api)["id"])
    meanwhile("before_flush", delete(Order).where(Order.id == order["id"]))
    response = api.patch(f"/orders/{order['id']}", json={"status": status})
    assert response.status_code == 409, response.text
    assert response.json() == {"detail": f"order {order['id']} was deleted meanwhile"}


def test_an_item_for_an_order_deleted_meanwhile_is_404(
    api: TestClient, meanwhile: Meanwhile
) -> None:
    order = new_order(api, new_user(api)["id"])
    meanwhile("before_flush", delete(Order).where(Order.id == order["id"]))
    item = {"sku": "PEN", "unit_price": "1.00"}
    response = api.post(f"/orders/{order['id']}/items", json=item)
    assert response.status_code == 404, response.text
    assert response.json() == {"detail": f"order {order['id']} does not exist"}


def test_a_row_created_then_deleted_with_its_parent_is_still_201(
    api: TestClient, meanwhile: Meanwhile
) -> None:
    # Committed, then deleted by another client's cascade before the answer is
    # written: the creation happened, and the answer says what was created.
    user = new_user(api)
    meanwhile("after_commit", delete(User).where(User.id == user["id"]))
    order = new_order(api, user["id"])
    assert order["user_id"] == user["id"]
    assert api.get(f"/orders/{order['id']}").status_code == 404

    order = new_order(api, new_user(api, "grace@example.com")["id"])
    meanwhile("after_commit", delete(Order).where(Order.id == order["id"]))
    item = new_item(api, order["id"])
    assert item["order_id"] == order["id"] and item["sku"] == "BOOK-1"


def test_ids_and_pages_are_bounded(api: TestClient) -> None:
    assert api.get(f"/users/{2**63}").status_code == 422  # beyond BIGINT
    assert api.get("/users/0").status_code == 422
    assert api.get("/users", params={"limit": 101}).status_code == 422
    assert api.get("/users", params={"offset": -1}).status_code == 422


def test_pages_of_users(api: TestClient) -> None:
    emails = [new_user(api, f"user{n}@example.com")["email"] for n in range(5)]
    first = api.get("/users", params={"limit": 2}).json()
    rest = api.get("/users", params={"offset": 2, "limit": 100}).json()
    assert [u["email"] for u in first + rest] == emails


def test_errors_never_show_sql_tracebacks_or_passwords(
    migrated_engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(tokens=())  # open on this machine: this test is about errors

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("SELECT password FROM users WHERE id = 1")

    local = "http://127.0.0.1"
    with TestClient(
        app, base_url=local, client=("127.0.0.1", 50000), raise_server_exceptions=False
    ) as client:
        failed = client.get("/boom")
        assert failed.status_code == 500
        assert failed.json() == {"detail": "internal server error"}
        # The database gone: 503, and the URL's password stays out of the answer.
        url = make_url(UNREACHABLE_URL)
        down = create_db_engine(url)
        app.dependency_overrides[database] = lambda: down
        unavailable = client.get("/users")
        assert unavailable.status_code == 503
        assert "s3cr3t" not in unavailable.text and "SELECT" not in unavailable.text
    # The log says why, in the driver's words: the server it could not reach.
    (logged,) = [r for r in caplog.records if "database failed" in r.getMessage()]
    assert "127.0.0.1" in logged.getMessage() and "s3cr3t" not in caplog.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/users", "GET, POST"),
        ("POST", "/users/1", "DELETE, GET, PATCH"),
        ("PUT", "/health/live", "GET"),
        ("POST", "/openapi.json", "GET, HEAD"),
    ],
)
def test_a_method_the_path_lacks_is_405_naming_every_one_it_has(
    api: TestClient, method: str, path: str, allowed: str
) -> None:
    response = api.request(method, path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed


def test_openapi_documents_every_error(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    operations = {
        (method.upper(), path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    documented = {key: set(op["responses"]) for key, op in operations.items()}
    assert {"404", "409", "422"} <= documented[("POST", "/users/{user_id}/orders")]
    assert {"409", "422"} <= documented[("POST", "/users")]
    assert {"404", "422"} <= documented[("DELETE", "/users/{user_id}")]
    assert "503" in documented[("GET", "/users")]
    assert "503" in documented[("GET", "/health/ready")]
