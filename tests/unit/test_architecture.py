"""Dependencies point inward: one test walks every module's imports (STYLE.md, "The house")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["domain", "eventstore", "projections", "adapters", "api", "replay", "milkbot", "bench"]
#: package -> the project packages it must never import.
FORBIDDEN = {
    "domain": {"eventstore", "projections", "adapters", "api", "replay", "milkbot", "bench"},
    "eventstore": {"projections", "adapters", "api", "replay", "milkbot", "bench"},
    "projections": {"adapters", "api", "replay", "milkbot", "bench"},
    "adapters": {"projections", "api", "replay", "milkbot", "bench"},
    "api": {"adapters", "replay", "bench"},
    "replay": {"api", "bench"},
}
#: the only third-party imports the domain may use.
DOMAIN_ALLOWED_THIRD_PARTY = {"pydantic", "numpy", "scipy"}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_arrow_points_outward(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(package)
        for name in imports_of(path)
        if name.split(".")[0] in FORBIDDEN[package]
    ]
    assert offenders == []


def test_adapters_never_import_each_other() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for venue, other in (("kalshi", "nws"), ("nws", "kalshi"))
        for path in modules(f"adapters/{venue}")
        for name in imports_of(path)
        if name.startswith(f"adapters.{other}")
    ]
    assert offenders == []


def test_the_domain_uses_only_the_standard_library_pydantic_and_numpy() -> None:
    import sys

    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules("domain")
        for name in imports_of(path)
        if (top := name.split(".")[0]) not in sys.stdlib_module_names
        and top not in DOMAIN_ALLOWED_THIRD_PARTY and top != "domain" and top != "__future__"
    ]
    assert offenders == []


def test_the_walk_sees_the_modules_it_guards() -> None:
    assert len(modules("domain")) >= 5
    assert "pydantic" in imports_of(ROOT / "domain/events/base.py")
