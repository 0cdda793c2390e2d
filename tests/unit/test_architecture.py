"""The shape of the code, checked: imports go one way, the table's item layout stays in its
adapter, and no class grows past what a reader can hold.

The layers themselves are import-linter contracts in pyproject.toml (adapters -> engine ->
configuration -> market -> domain, each importing only what is below it); this runs them, so the
suite fails the moment an import breaks the direction, not only CI's gate.
"""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_UTILS = ROOT / "shared_utils"
ADAPTERS = SHARED_UTILS / "adapters"

LAYERS = [
    "shared_utils.adapters",
    "shared_utils.engine",
    "shared_utils.configuration",
    "shared_utils.market",
    "shared_utils.domain",
]
MAX_CLASS_LINES = 300

# Every key prefix the table's items use (shared_utils/adapters/dynamodb/keys.py and the items the
# engine, the market cache and the paper broker write), followed by the separator that makes it a
# key rather than a word. `EXECUTION_ENTRY#`, `EXECUTION_EXIT#`, `EXECUTION_STOP_LOSS#` and an
# f-string's `EXECUTION_{kind}#` all match `EXECUTION_...#`.
KEY_PREFIX = re.compile(
    r"(?<![A-Za-z0-9_])"
    r"(BASKET|STRATEGY|LEG|ALLOCATION|BROKER_ACCOUNT|ENTRY|EXIT|SLOT|POSITION|OPEN_POSITIONS"
    r"|ORDER|ORDERS|WORKING_ORDERS|METRICS|SETTLEMENT|PAPER_ORDER|PAPER_POSITION|CHAIN"
    r"|EXECUTION_[A-Z_]*)#"
)
# The table's own attribute names: the sort key and the generic index keys.
LAYOUT_ATTRIBUTES = re.compile(r"^(sort_key|GSI[12](PK|SK))$")
# `lint-imports` as this interpreter runs it (the console script may belong to another one).
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
# What a placeholder in an f-string stands for when the f-string is read as one string.
PLACEHOLDER = "X"


def _python_files(under: Path) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "__pycache__" not in p.parts)


def _outside_adapters() -> list[Path]:
    return [p for p in _python_files(SHARED_UTILS) if ADAPTERS not in p.parents]


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _documentation(tree: ast.Module) -> set[int]:
    """Bare string statements (docstrings): they may describe the item layout; code may not."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def _strings(tree: ast.Module) -> list[tuple[int, str]]:
    """Every string the code builds, an f-string read whole with its placeholders as `X`."""
    documentation = _documentation(tree)
    inside_fstrings = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in ast.walk(node)
        if part is not node
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and id(node) not in inside_fstrings:
            text = "".join(
                part.value if isinstance(part, ast.Constant) else PLACEHOLDER
                for part in node.values
            )
            found.append((node.lineno, text))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in documentation
            and id(node) not in inside_fstrings
        ):
            found.append((node.lineno, node.value))
    return found


def _layout_names(tree: ast.Module) -> list[tuple[int, str]]:
    """Where code names the table's layout: the keys module, or the sort key attribute."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "keys"
        ):
            found.append((node.lineno, f"keys.{node.attr}"))
        if isinstance(node, ast.Attribute) and LAYOUT_ATTRIBUTES.match(node.attr):
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Name) and LAYOUT_ATTRIBUTES.match(node.id):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.arg) and LAYOUT_ATTRIBUTES.match(node.arg):
            found.append((node.lineno, f"argument {node.arg}"))
        elif isinstance(node, ast.keyword) and node.arg and LAYOUT_ATTRIBUTES.match(node.arg):
            found.append((node.lineno, f"keyword {node.arg}="))
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported = [f"{node.module}.{alias.name}" for alias in node.names]
            found.extend(
                (node.lineno, f"import {name}")
                for name in imported
                if name.startswith("shared_utils.adapters.dynamodb.keys")
            )
        elif isinstance(node, ast.Import):
            found.extend(
                (node.lineno, f"import {alias.name}")
                for alias in node.names
                if alias.name.startswith("shared_utils.adapters.dynamodb.keys")
            )
    return found


def _where(path: Path, line: int, what: str) -> str:
    return f"{path.relative_to(ROOT)}:{line}: {what}"


def test_the_import_contracts_hold():
    """import-linter, from this interpreter, with the contracts in pyproject.toml."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            LINT_IMPORTS,
            "--no-cache",
            "--no-logo",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        "an import breaks the layers in pyproject.toml [tool.importlinter]:\n"
        + result.stdout
        + result.stderr
    )


def test_the_layers_contract_names_every_package_of_shared_utils_top_to_bottom():
    """The contract the test above runs is the architecture's, not a weaker one."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    layered = [c["layers"] for c in contracts if c["type"] == "layers"]
    assert LAYERS in layered
    packages = {
        f"shared_utils.{p.name}"
        for p in SHARED_UTILS.iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    }
    assert packages <= set(LAYERS), f"packages outside the layers: {sorted(packages - set(LAYERS))}"


@pytest.mark.parametrize("path", _outside_adapters(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_dynamodb_key_string_outside_the_adapters(path):
    found = [
        _where(path, line, repr(text))
        for line, text in _strings(_parse(path))
        if KEY_PREFIX.search(text) or LAYOUT_ATTRIBUTES.match(text)
    ]
    assert not found, (
        "the table's item layout belongs in shared_utils/adapters/dynamodb:\n" + "\n".join(found)
    )


@pytest.mark.parametrize("path", _outside_adapters(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_key_module_or_sort_key_outside_the_adapters(path):
    found = [_where(path, line, what) for line, what in _layout_names(_parse(path))]
    assert not found, (
        "domain, market, configuration and engine speak in models; the keys and the sort key"
        " are the DynamoDB adapter's:\n" + "\n".join(found)
    )


def test_no_class_in_shared_utils_is_longer_than_300_lines():
    long_classes = [
        _where(path, node.lineno, f"class {node.name}: {node.end_lineno - node.lineno + 1} lines")
        for path in _python_files(SHARED_UTILS)
        for node in ast.walk(_parse(path))
        if isinstance(node, ast.ClassDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES
    ]
    assert not long_classes, (
        f"split these by responsibility (at most {MAX_CLASS_LINES} lines):\n"
        + "\n".join(long_classes)
    )


def test_the_checks_see_what_they_look_for():
    """The detectors themselves: an f-string key, a plain key, keys.SK and a sort_key field are
    found; a docstring that describes the layout and an ordinary word are not."""
    tree = ast.parse(
        '"""Records live at EXECUTION_ENTRY#strategy#YYYYMMDD."""\n'
        'a = f"EXECUTION_{kind}#{strategy_id}#"\n'
        'b = "BASKET#" + basket_id\n'
        'c = "ENTRY"\n'
        "d = item[keys.SK]\n"
        "e = ref.sort_key\n"
    )
    flagged = [text for _, text in _strings(tree) if KEY_PREFIX.search(text)]
    assert sorted(flagged) == ["BASKET#", "EXECUTION_X#X#"]
    assert {what for _, what in _layout_names(tree)} == {"keys.SK", ".sort_key"}
