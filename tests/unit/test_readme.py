"""The README and docs/ stand on their own and say what the tree holds: no reference to a file
outside the repository, no link or path that does not exist, every package of shared_utils
described in the architecture."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
# The top-level folders of the repository: a backticked path starting with one names a file or
# folder that must exist.
REPOSITORY_FOLDERS = (
    "shared_utils",
    "lambda_functions",
    "local_platform",
    "cdk_stack",
    "step_functions",
    "scripts",
    "docs",
    "tests",
    "benchmarks",
    ".ci",
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
PACKAGE_BULLET = re.compile(r"^- `([\w/]+)/`:", re.MULTILINE)


def _ids(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_anchor(h) for h in HEADING.findall(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("document", DOCUMENTS, ids=_ids)
def test_no_reference_to_anything_outside_the_repository(document):
    text = document.read_text(encoding="utf-8")
    outside = [
        line.strip()
        for line in text.splitlines()
        if re.search(r"(?<![.\w])\.\./|\bDESIGN\.md\b|\bMARKET_FACTS\.md\b|\bshared/spec\b", line)
    ]
    assert not outside, f"{_ids(document)} points outside the repository:\n" + "\n".join(outside)


@pytest.mark.parametrize("document", DOCUMENTS, ids=_ids)
def test_every_link_reaches_a_file_and_heading_that_exist(document):
    broken = []
    for target in LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (document.parent / path).resolve() if path else document
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in _anchors(file)):
            broken.append(target)
    assert not broken, f"{_ids(document)} links to what is not there: {broken}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=_ids)
def test_every_repository_path_named_exists(document):
    missing = []
    for code in CODE.findall(document.read_text(encoding="utf-8")):
        candidate = code.split()[0].rstrip(".,:;")
        if not candidate.startswith(tuple(f"{f}/" for f in REPOSITORY_FOLDERS)):
            continue
        exists = any(ROOT.glob(candidate)) if "*" in candidate else (ROOT / candidate).exists()
        if not exists:
            missing.append(candidate)
    assert not missing, f"{_ids(document)} names paths that do not exist: {missing}"


def test_the_modules_the_architecture_names_exist():
    """A package's bullet (- `engine/`: ...) names its modules; each must be in that package."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    missing = []
    bullets = list(PACKAGE_BULLET.finditer(text))
    for index, bullet in enumerate(bullets):
        package = bullet.group(1)
        base = ROOT / "shared_utils" / package
        if not base.exists():
            base = ROOT / package
        end = bullets[index + 1].start() if index + 1 < len(bullets) else len(text)
        body = re.split(r"\n\n", text[bullet.end() : end])[0]
        missing.extend(
            f"{package}/{code}"
            for code in CODE.findall(body)
            if re.fullmatch(r"[\w/]+\.py|[\w]+/", code) and not (base / code).exists()
        )
    assert bullets, "docs/architecture.md describes no package"
    assert not missing, f"docs/architecture.md names modules that are not there: {missing}"


def test_the_architecture_describes_every_package_of_shared_utils():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    packages = [
        p.relative_to(ROOT / "shared_utils").as_posix()
        for p in sorted((ROOT / "shared_utils").glob("*/"))
        if (p / "__init__.py").exists()
    ] + [
        p.relative_to(ROOT / "shared_utils").as_posix()
        for p in sorted((ROOT / "shared_utils" / "adapters").glob("*/"))
        if (p / "__init__.py").exists()
    ]
    undescribed = [p for p in packages if f"`{p}/`" not in text]
    assert not undescribed, f"docs/architecture.md does not describe: {undescribed}"


def test_the_readme_gives_the_two_commands_the_gates_and_the_references():
    text = README.read_text(encoding="utf-8")
    for needed in (
        "./deploy.sh -e local",
        "./test.sh",
        "scripts/gates",
        "pre-commit install",
        "(docs/api-reference.md)",
        "(docs/architecture.md)",
    ):
        assert needed in text, f"README.md does not say {needed!r}"


def test_the_readmes_iron_condor_bodies_are_accepted_as_written():
    """The legs and allocations a newcomer copies from the README are valid requests."""
    from shared_utils.domain.models import AdvancedAllocationsRequest, LegsCreate

    blocks = re.findall(r"```json\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    bodies = [
        json.loads(block) for block in blocks if '"legs"' in block or '"allocations"' in block
    ]
    legs = LegsCreate.model_validate(next(b for b in bodies if "legs" in b))
    allocations = AdvancedAllocationsRequest.model_validate(
        next(b for b in bodies if "allocations" in b)
    )
    assert [leg.leg_no for leg in legs.legs] == [1, 2, 3, 4]
    overrides = {a.client_id: a.allocation_config.leg_overrides for a in allocations.allocations}
    assert {
        c: {leg: o.lots for leg, o in (legs or {}).items()} for c, legs in overrides.items()
    } == {
        "ZERODHA123": {"1": 3, "2": 3},
        "ANGELONE456": {"3": 2, "4": 2},
    }
