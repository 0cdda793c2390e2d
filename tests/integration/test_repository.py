"""The data access layer's own promises: atomic commits, chosen errors, honest pages."""

import pytest

from shared_utils.adapters.dynamodb import keys
from shared_utils.adapters.dynamodb import repository as db
from shared_utils.domain.errors import Conflict, InvalidInput
from tests.conftest import all_items


def test_a_failed_condition_raises_the_error_its_write_named_and_writes_nothing(
    repository, dynamodb
):
    repository.commit([db.put({"user_id": "u", "sort_key": "A", "version": 1})])
    with pytest.raises(Conflict, match="stale A"):
        repository.commit(
            [
                db.put({"user_id": "u", "sort_key": "B", "version": 1}),
                db.put_versioned(
                    {"user_id": "u", "sort_key": "A", "version": 3}, 2, Conflict("stale A")
                ),
            ]
        )
    assert [item["sort_key"]["S"] for item in all_items(dynamodb)] == ["A"]


def test_put_new_refuses_an_existing_item(repository):
    repository.commit([db.put_new({"user_id": "u", "sort_key": "A"}, Conflict("exists"))])
    with pytest.raises(Conflict, match="exists"):
        repository.commit([db.put_new({"user_id": "u", "sort_key": "A"}, Conflict("exists"))])


def test_more_than_a_transaction_can_hold_is_refused_before_sending(repository, dynamodb):
    with pytest.raises(InvalidInput):
        repository.commit([db.put({"user_id": "u", "sort_key": f"K{n}"}) for n in range(101)])
    assert all_items(dynamodb) == []


def test_pages_are_complete_and_tokens_belong_to_their_listing(repository):
    repository.commit(
        [db.put({"user_id": "u", "sort_key": keys.basket(f"{n:02d}")}) for n in range(25)]
    )
    repository.commit([db.put({"user_id": "u", "sort_key": keys.strategy("x")})])
    seen, token = [], None
    while True:
        page, token = repository.query_prefix("u", keys.basket(""), limit=10, next_token=token)
        seen += [item["sort_key"] for item in page]
        if token is None:
            break
        with pytest.raises(InvalidInput):
            repository.query_prefix("other", keys.basket(""), limit=10, next_token=token)
        with pytest.raises(InvalidInput):
            repository.query_prefix("u", keys.strategy(""), limit=10, next_token=token)
    assert seen == [keys.basket(f"{n:02d}") for n in range(25)]


def test_filters_apply_after_the_key_condition(repository):
    repository.commit(
        [
            db.put(
                {
                    "user_id": "u",
                    "sort_key": keys.strategy(str(n)),
                    "basket_id": "b" if n % 2 else None,
                }
            )
            for n in range(6)
        ]
    )
    in_basket, _ = repository.query_prefix("u", keys.strategy(""), filters={"basket_id": "b"})
    standalone, _ = repository.query_prefix("u", keys.strategy(""), filters={"basket_id": None})
    assert len(in_basket) == 3
    assert len(standalone) == 3
