"""Two layers: the platform (bus, runtime, config loading, metrics, model files, and the other shared
modules of ``vidsentry``, with the message schemas) imports no stage package; the application (the CLI,
the pipeline list, the embedded runner, the report, the console) sits on top and may. One exception: the
platform's config tree imports each stage's ``config`` module (its section, plain pydantic), which in turn
imports nothing of its stage nor of ``vidsentry.config``. docs/ARCHITECTURE.md, "Layers"."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
STAGE_PACKAGES = {"workers", "aggregator", "producers"}
APPLICATION = {"vidsentry/cli.py", "vidsentry/embedded.py", "vidsentry/pipeline.py", "vidsentry/report", "vidsentry/console"}
"""The application part of the vidsentry package; everything else in it is platform."""
STAGE_CONFIGS = sorted(p.relative_to(REPO).with_suffix("").as_posix().replace("/", ".")
                       for pkg in STAGE_PACKAGES for p in [*REPO.glob(f"{pkg}/config.py"), *REPO.glob(f"{pkg}/*/config.py")])
"""Each stage's config section: the one part of a stage the platform may import (vidsentry/config/models.py
composes the config tree from them)."""


def platform_modules() -> list[Path]:
    modules = [*REPO.glob("vidsentry/**/*.py"), *REPO.glob("schemas/**/*.py")]
    return sorted(p for p in modules
                  if not any(p.relative_to(REPO).as_posix() == a or p.relative_to(REPO).as_posix().startswith(a + "/")
                             for a in APPLICATION))


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every absolute import in the file, at the top or inside a function (a late import is still a dependency)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value))
    return found


def test_the_platform_imports_no_stage_package():
    modules = platform_modules()
    assert len(modules) > 20 and REPO / "vidsentry/runtime.py" in modules and REPO / "vidsentry/bus/kafka.py" in modules
    crossings = [f"{path.relative_to(REPO)}:{line}: imports {name}"
                 for path in modules for line, name in imported_modules(path)
                 if name.split(".")[0] in STAGE_PACKAGES and name not in STAGE_CONFIGS]
    assert not crossings, "the platform must not depend on a stage:\n" + "\n".join(crossings)


def test_each_stage_config_is_a_plain_section():
    """A stage's config module, the one stage module the platform imports, imports nothing of any stage
    (that would pull the stage into the platform) nor of vidsentry.config (which imports it: a cycle)."""
    assert {"workers.face.config", "workers.emotion.config", "workers.action.config", "aggregator.config"} <= set(STAGE_CONFIGS)
    crossings = [f"{module}:{line}: imports {name}"
                 for module in STAGE_CONFIGS for line, name in imported_modules(REPO / (module.replace(".", "/") + ".py"))
                 if name.split(".")[0] in STAGE_PACKAGES or name == "vidsentry.config" or name.startswith("vidsentry.config.")]
    assert not crossings, "a stage's config section must stand alone:\n" + "\n".join(crossings)


@pytest.mark.parametrize("module", STAGE_CONFIGS)
def test_a_stage_config_imports_first(module):
    """Imported before anything else (as a stage's own tests do), the section loads without an import cycle."""
    done = subprocess.run([sys.executable, "-c", f"import {module}; import vidsentry.config"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_check_sees_late_imports(tmp_path):
    """The walk finds an import inside a function too, so the test above can fail."""
    sample = tmp_path / "m.py"
    sample.write_text("import os\n\ndef f():\n    from workers.face import worker\n    import aggregator.rules\n")
    assert [name for _, name in imported_modules(sample)] == ["os", "workers.face", "aggregator.rules"]


def test_the_application_is_where_the_stages_are_imported():
    """The line is drawn in the right place: the CLI does import the stages."""
    assert any(name.split(".")[0] in STAGE_PACKAGES for _, name in imported_modules(REPO / "vidsentry/cli.py"))
