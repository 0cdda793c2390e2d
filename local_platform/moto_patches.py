"""Narrow patches to moto's DynamoDB (written against moto 5.2.5) that make the local table's cost
per request independent of the table's size, and the snapshot that relies on them.

moto answers every request correctly but, for the operations the platform uses, in time that grows
with the whole table:

- `DynamoDBBackend.transact_write_items` deep-copies every table a transaction touches, once per
  action, to roll back on cancellation (94 ms at 61 items, 1,160 ms at 669).
- `Table.query` calls `Table.all_items()`, which sorts every item of the table, for a query of one
  partition of the table or of a global secondary index.
- the snapshot pickled every backend under the one lock in front of moto (394 ms at 669 items).

Each patch keeps moto's own code deciding every answer and every error; what changes is which
items it looks at and how a cancelled transaction is undone. `apply()` installs them (idempotent),
`unapply()` puts moto's own methods back (the comparison tests run both). To drop a patch: check
that the moto version in use no longer does the costly thing named in its docstring (the tests in
tests/unit/test_moto_patches.py compare patched and unpatched answers and keep passing), then delete
its function and its line in `_PATCHES`.
"""

from __future__ import annotations

import copy
import io
import pickle
import struct
import weakref
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import GlobalSecondaryIndex, Table

MOTO_VERSION = "5.2.5"
# The attribute types a key can have: the only ones an index partition is looked up by.
_KEY_TYPES = frozenset({"S", "N", "B"})

PrimaryKey = tuple[DynamoType, DynamoType | None]
# A table's index partitions: (index name, its hash attribute) -> hash value -> primary keys. A
# superset of each partition's members (added to on every write, stale keys dropped when a query
# meets them); kept beside the table, never in it, so it is neither pickled nor deep-copied.
_PARTITIONS: weakref.WeakKeyDictionary[
    Table, dict[tuple[str, str], dict[DynamoType, set[PrimaryKey]]]
]
_PARTITIONS = weakref.WeakKeyDictionary()
# The items a query running on this thread may match, which `all_items` answers while it runs.
_CANDIDATES: ContextVar[tuple[Table, list[Item]] | None] = ContextVar("candidates", default=None)

_originals: dict[tuple[type, str], Callable[..., Any]] = {}


def _sort_key(item: Any) -> Any:
    """The order `Table.all_items` sorts by (moto 5.2.5, table.py)."""
    return (item.hash_key, item.range_key) if item.range_key else item.hash_key


def _stored(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    """The item stored under a key, read without the empty partition `table.items[h]` inserts."""
    rows: Any = table.items.get(hash_key)
    if range_key:
        return rows.get(range_key) if isinstance(rows, dict) else None
    return rows if isinstance(rows, Item) else None


def _store(
    table: Table, hash_key: DynamoType, range_key: DynamoType | None, item: Item | None
) -> None:
    items: Any = table.items
    if item is None:
        if range_key:
            rows = items.get(hash_key)
            if isinstance(rows, dict):
                rows.pop(range_key, None)
        else:
            items.pop(hash_key, None)
    elif range_key:
        items[hash_key][range_key] = item
    else:
        items[hash_key] = item


def _stored_items(table: Table) -> Iterable[Item]:
    for rows in table.items.values():
        if isinstance(rows, dict):
            yield from rows.values()
        elif isinstance(rows, Item):
            yield rows


# -- c. index partitions --------------------------------------------------------------------------
def _note(table: Table, item: Item | None) -> None:
    """Add a stored item's key to every partition map built for its table."""
    partitions = _PARTITIONS.get(table)
    if not partitions or item is None:
        return
    for (_index, attribute), members in partitions.items():
        value = item.attrs.get(attribute)
        if value is not None and value.type in _KEY_TYPES:
            members.setdefault(value, set()).add((item.hash_key, item.range_key))


def _forget(table: Table, item: Item | None) -> None:
    """Take an item that is no longer stored as it was out of the partitions it was in (so that the
    maps do not grow with every item ever deleted or moved)."""
    partitions = _PARTITIONS.get(table)
    if not partitions or item is None:
        return
    for (_index, attribute), members in partitions.items():
        value = item.attrs.get(attribute)
        if value is None or value.type not in _KEY_TYPES or value not in members:
            continue
        keys = members[value]
        keys.discard((item.hash_key, item.range_key))
        if not keys:
            del members[value]


def _replaced(table: Table, before: Item | None, after: Item | None) -> None:
    _forget(table, before)
    _note(table, after)


def _partition_map(table: Table, index: str, attribute: str) -> dict[DynamoType, set[PrimaryKey]]:
    partitions = _PARTITIONS.setdefault(table, {})
    members = partitions.get((index, attribute))
    if members is None:  # built once from every item, then kept up to date by `_note`
        members = {}
        for item in _stored_items(table):
            value = item.attrs.get(attribute)
            if value is not None and value.type in _KEY_TYPES:
                members.setdefault(value, set()).add((item.hash_key, item.range_key))
        partitions[(index, attribute)] = members
    return members


def _index_candidates(
    table: Table, index_name: str, conditions: list[Any] | None
) -> list[Item] | None:
    """The items of one partition of a global secondary index with a single-attribute hash key;
    None where the query is anything else (moto then looks at every item, as it does unpatched)."""
    index = next((i for i in table.global_indexes if i.name == index_name), None)
    if not isinstance(index, GlobalSecondaryIndex) or not conditions or len(conditions) != 1:
        return None
    hash_keys = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    attribute, value = conditions[0]
    if (
        hash_keys != [attribute]
        or not isinstance(value, DynamoType)
        or value.type not in _KEY_TYPES
    ):
        return None
    members = _partition_map(table, index_name, attribute).get(value, set())
    found, stale = [], []
    for hash_key, range_key in members:
        item = _stored(table, hash_key, range_key)
        current = item.attrs.get(attribute) if item is not None else None
        if item is None or current is None or current != value:
            stale.append((hash_key, range_key))
        else:
            found.append(item)
    members.difference_update(stale)  # a safety net: every write keeps the maps exact
    if not members:
        _partition_map(table, index_name, attribute).pop(value, None)
    return found


def _candidates(
    table: Table, hash_key: Any, index_name: str | None, conditions: list[Any] | None
) -> list[Item] | None:
    if index_name:
        found = _index_candidates(table, index_name, conditions)
    elif isinstance(hash_key, DynamoType) and hash_key.type in _KEY_TYPES:
        rows: Any = table.items.get(hash_key)
        found = list(rows.values()) if isinstance(rows, dict) else [] if rows is None else [rows]
    else:
        return None
    # In the order all_items() gives them: moto sorts them again, but sees what it saw unpatched.
    return None if found is None else sorted(found, key=_sort_key)


def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's `Table.query`, its `all_items()` answering only the queried partition's items (of the
    table, or of a GSI with one hash attribute), in the order `all_items()` gives them. Drop when
    moto's query no longer calls `all_items()` (table.py, `def query`)."""
    original = _originals[(Table, "query")]
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    conditions = kwargs.get("hash_key_conditions")
    found = _candidates(self, hash_key, index_name, conditions)
    if found is None:
        return original(self, hash_key, *args, **kwargs)
    token = _CANDIDATES.set((self, found))
    try:
        return original(self, hash_key, *args, **kwargs)
    finally:
        _CANDIDATES.reset(token)


def all_items(self: Table) -> list[Item]:
    active = _CANDIDATES.get()
    if active is not None and active[0] is self:
        return list(active[1])
    items: list[Item] = _originals[(Table, "all_items")](self)
    return items


def put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
    """moto's `Table.put_item`, keeping the index partition maps up to date."""
    try:
        range_key = DynamoType(item_attrs[self.range_key_attr]) if self.range_key_attr else None
        before = _stored(self, DynamoType(item_attrs[self.hash_key_attr]), range_key)
    except Exception:  # moto refuses the item itself, in its own words
        before = None
    item: Item = _originals[(Table, "put_item")](self, item_attrs, *args, **kwargs)
    _replaced(self, before, item)
    return item


def delete_item(self: Table, *args: Any, **kwargs: Any) -> Item | None:
    """moto's `Table.delete_item`, taking the item out of the index partition maps."""
    item: Item | None = _originals[(Table, "delete_item")](self, *args, **kwargs)
    _forget(self, item)
    return item


# -- b. copy-on-write updates ---------------------------------------------------------------------
def _update_key(table: Table, key: Any) -> PrimaryKey:
    """The key moto's `update_item` reads (models/__init__.py, `def update_item`)."""
    if table.hash_key_attr in key and table.range_key_attr in key:
        return DynamoType(key[table.hash_key_attr]), DynamoType(key[table.range_key_attr])
    if table.hash_key_attr in key:
        return DynamoType(key[table.hash_key_attr]), None
    return DynamoType(key), None


def update_item(
    self: DynamoDBBackend, table_name: str, key: Any, *args: Any, **kwargs: Any
) -> Item:
    """moto's `update_item` on a copy of the stored item, which replaces it: moto changes the item in
    place, so an item once stored is never changed, and the undo log (a) and the snapshot (d) hold
    references, not copies. Drop with (a) and (d), or when moto updates a copy itself."""
    original = _originals[(DynamoDBBackend, "update_item")]
    try:
        table = self.get_table(table_name)
        hash_key, range_key = _update_key(table, key)
    except Exception:  # moto raises it again, in its own order of checks
        return original(self, table_name, key, *args, **kwargs)  # type: ignore[no-any-return]
    stored = _stored(table, hash_key, range_key)
    if stored is not None:
        _store(table, hash_key, range_key, copy.deepcopy(stored))
    try:
        updated: Item = original(self, table_name, key, *args, **kwargs)
        return updated
    finally:
        _replaced(table, stored, _stored(table, hash_key, range_key))


# -- a. transactions with an undo log -------------------------------------------------------------
def _action_key(table: Table, op_type: str, op: dict[str, Any]) -> PrimaryKey:
    keys = op["Item"] if op_type == "Put" else op["Key"]
    range_key = DynamoType(keys[table.range_key_attr]) if table.range_key_attr else None
    return DynamoType(keys[table.hash_key_attr]), range_key


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's `transact_write_items` (models/__init__.py) with an undo log in place of a deep copy
    of each touched table per action: before an action writes, the item it replaces (or None) is
    kept, and a cancellation puts back only those. Every check, error and cancellation reason is
    moto's, in moto's order. A table with a stream goes to moto's own (its copy also undoes the
    stream records). Drop when moto stops deep-copying tables there."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    touched = {next(iter(i.values())).get("TableName") for i in transact_items}
    if any(name in self.tables and self.tables[name].stream_shard is not None for name in touched):
        _originals[(DynamoDBBackend, "transact_write_items")](self, transact_items)
        return
    undo: dict[tuple[str, PrimaryKey], tuple[Table, Item | None]] = {}

    def roll_back() -> None:
        for (_name, (hash_key, range_key)), (table, before) in undo.items():
            after = _stored(table, hash_key, range_key)
            _store(table, hash_key, range_key, before)
            _replaced(table, after, before)

    target_items: set[tuple[str, str]] = set()
    errors: list[tuple[str, str, Any] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in target_items:
                raise MultipleTransactionsException()
            target_items.add(unique)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                table = self.get_table(table_name)
                primary = _action_key(table, op_type, op)
                undo.setdefault((table.name, primary), (table, _stored(table, *primary)))
            written = {
                "condition_expression": condition_expression,
                "expression_attribute_names": names,
                "expression_attribute_values": values,
            }
            if op_type == "Put":
                self.put_item(table_name, op["Item"], **written)
            elif op_type == "Delete":
                self.delete_item(table_name, key, **written)
            elif op_type == "Update":
                self.update_item(
                    table_name, key, update_expression=op["UpdateExpression"], **written
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            roll_back()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # moto reports any other failure as the action's reason
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        roll_back()
        raise TransactionCanceledException(errors)


# -- d. the snapshot: the state frozen under the lock, pickled after it --------------------------
_SNAPSHOT_MAGIC = b"OSPAWS2\n"
_LENGTH = struct.Struct(">Q")


class _ItemsSetAside(pickle.Pickler):
    """Pickles the backends with each table's items dict written as a reference to its copy."""

    def __init__(self, file: io.BytesIO, references: dict[int, int]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.references = references

    def persistent_id(self, obj: Any) -> int | None:
        return self.references.get(id(obj))


class _ItemsPutBack(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, items: list[Any]):
        super().__init__(file)
        self.items = items

    def persistent_load(self, pid: Any) -> Any:
        return self.items[pid]


def _frozen_items(items: Any) -> Any:
    """A copy of a table's items dict and of each of its partitions; the Item objects are shared,
    which is safe only while no stored Item is ever changed (patch b)."""
    frozen = copy.copy(items)  # the same type: moto's defaultdict(dict)
    for hash_key, rows in items.items():
        if isinstance(rows, dict):
            frozen[hash_key] = dict(rows)
    return frozen


class FrozenState:
    """The backends as they were when `freeze` ran, ready to be pickled without the lock."""

    def __init__(self, state: dict[str, Any]):
        self.items: list[Any] | None = None
        if not applied():  # stored items may change in place: all of it is pickled now
            self.backends = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
            return
        references: dict[int, int] = {}
        self.items = []
        backends = [b for b in state.values() if isinstance(b, DynamoDBBackend)]
        for table in (table for backend in backends for table in backend.tables.values()):
            references[id(table.items)] = len(self.items)
            self.items.append(_frozen_items(table.items))
        out = io.BytesIO()
        _ItemsSetAside(out, references).dump(state)
        self.backends = out.getvalue()

    def pickled(self) -> bytes:
        """The snapshot's bytes; `load_state` reads them (and the plain pickles written before)."""
        if self.items is None:
            return self.backends
        items = pickle.dumps(self.items, protocol=pickle.HIGHEST_PROTOCOL)
        return _SNAPSHOT_MAGIC + _LENGTH.pack(len(items)) + items + self.backends


def freeze(state: dict[str, Any]) -> FrozenState:
    """Under the lock: every backend but the tables' items pickled (Cognito's users, the tables'
    definitions: small), and the items dicts copied one level deep (a dict copy per partition)."""
    return FrozenState(state)


def load_state(payload: bytes) -> Any:
    """The backends a snapshot holds: one `FrozenState.pickled` wrote, or a plain pickle of them."""
    if not payload.startswith(_SNAPSHOT_MAGIC):
        return pickle.loads(payload)  # noqa: S301 - the state this platform saved
    start = len(_SNAPSHOT_MAGIC) + _LENGTH.size
    (length,) = _LENGTH.unpack_from(payload, len(_SNAPSHOT_MAGIC))
    items = pickle.loads(payload[start : start + length])  # noqa: S301 - as above
    return _ItemsPutBack(io.BytesIO(payload[start + length :]), items).load()


_PATCHES: tuple[tuple[type, str, Callable[..., Any]], ...] = (
    (DynamoDBBackend, "transact_write_items", transact_write_items),
    (DynamoDBBackend, "update_item", update_item),
    (Table, "query", query),
    (Table, "all_items", all_items),
    (Table, "put_item", put_item),
    (Table, "delete_item", delete_item),
)


def apply() -> None:
    """Install the patches (again: nothing happens). Before any request, and before a replay."""
    for owner, name, patched in _PATCHES:
        if (owner, name) not in _originals:
            _originals[(owner, name)] = getattr(owner, name)
        setattr(owner, name, patched)


def unapply() -> None:
    """moto's own methods back, for the tests that compare patched and unpatched answers. The
    partition maps are kept (the tests check how they are kept up to date): a table written while
    unpatched must not be queried patched afterwards without `forget_partitions()`."""
    for owner, name, _patched in _PATCHES:
        if (owner, name) in _originals:
            setattr(owner, name, _originals[(owner, name)])


def forget_partitions() -> None:
    """Drop every partition map: each is built again from its table's items when next queried."""
    _PARTITIONS.clear()


def applied() -> bool:
    return all(getattr(owner, name) is patched for owner, name, patched in _PATCHES)
