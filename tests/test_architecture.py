"""The call direction of ARCHITECTURE.md §3, checked by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "pearl"
DOMAIN_APPS = sorted(p.name for p in ROOT.iterdir() if (p / "apps.py").exists() and p.name != "core")
INTERFACES = {"views", "api", "tasks", "forms", "urls", "settings_views", "settings_urls", "forms_settings"}
WRITES = (".save(", ".objects.create(", "bulk_create(", ".objects.update_or_create(", ".objects.get_or_create(")


def _modules() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if "migrations" not in p.parts and "tests" not in p.parts]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("pearl.")}


def _app_and_kind(path: Path) -> tuple[str, str]:
    rel = path.relative_to(ROOT).parts
    app = rel[0] if len(rel) > 1 else ""
    kind = "commands" if "management" in rel else (rel[1] if len(rel) > 2 else Path(rel[-1]).stem)
    return app, kind


def _target(name: str) -> tuple[str, str]:
    parts = name.split(".")
    return (parts[1] if len(parts) > 1 else ""), (parts[2] if len(parts) > 2 else "")


def test_there_are_modules_to_check() -> None:
    assert "customers" in DOMAIN_APPS and "accounts" in DOMAIN_APPS
    assert len(_modules()) > 20


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_call_direction(path: Path) -> None:
    app, kind = _app_and_kind(path)
    problems = []
    for name in _imports(path):
        target_app, target_kind = _target(name)
        if app == "core" and target_app in DOMAIN_APPS and kind != "testing":
            problems.append(f"core must not depend on the domain app {target_app}: {name}")
        if kind == "models" and target_kind in {"services", "selectors", "views", "api", "forms", "tasks"}:
            problems.append(f"models never import services or interfaces: {name}")
        if kind in {"services", "selectors", "search", "customfields", "filters"} and target_kind in INTERFACES:
            problems.append(f"services/selectors never import interfaces: {name}")
        # The root wiring (pearl/urls.py, pearl/api.py) mounts every app's routes; apps don't.
        if app and target_app in DOMAIN_APPS and target_app != app and target_kind in INTERFACES:
            problems.append(f"another app is used through its services/selectors, not its {target_kind}: {name}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if _app_and_kind(p)[1] in INTERFACES | {"commands"}],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_interfaces_do_not_write_models(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not [w for w in WRITES if w in source], f"{path.name} writes models directly; call a service"
