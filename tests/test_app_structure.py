"""The Space's structure: importing app.py or gan_core builds and changes nothing, the settings are
read once, and gan_core never reaches into gradio or ui."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT
from ui.settings import Settings, read_settings


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**_base_env(), **env},
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def _base_env() -> dict:
    return {name: value for name, value in os.environ.items() if not name.startswith("HF_HUB_")}


def test_importing_app_builds_no_page_and_loads_no_model():
    code = (
        "import json, sys, app\n"
        "heavy = [name for name in ('gradio', 'huggingface_hub', 'torch') if name in sys.modules]\n"
        "print(json.dumps([heavy, sorted(name for name in vars(app) if not name.startswith('_'))]))"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    heavy, public = json.loads(result.stdout)
    assert heavy == []  # no gradio: no page can have been built; no torch: no model loaded
    assert public == ["annotations", "main", "read_settings", "signal"]


def test_importing_gan_core_leaves_the_environment_alone():
    code = "import os, gan_core; print(os.environ['HF_HUB_DOWNLOAD_TIMEOUT'])"
    result = run_python(code, HF_HUB_DOWNLOAD_TIMEOUT="1.5")
    assert result.returncode == 0 and result.stdout.strip() == "1.5" and not result.stderr


def test_the_app_mends_a_hub_timeout_before_huggingface_hub_reads_it():
    # huggingface_hub itself would stop with a ValueError at import (its int() of the setting).
    code = "import app\nfrom ui.settings import read_settings\nread_settings([])\nimport gradio\nprint('ok')"
    result = run_python(code, HF_HUB_ETAG_TIMEOUT="abc")
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    warning = "warning: HF_HUB_ETAG_TIMEOUT='abc' is not a whole number of seconds; using 10"
    assert result.stderr.strip() == warning


def test_settings_are_read_once_with_their_defaults_and_run_as_model_dir(tmp_path):
    cache = {"XDG_CACHE_HOME": str(tmp_path)}
    assert Settings.from_environ(cache) == Settings(plot_cache=tmp_path / "mnist-gan" / "plots")
    settings = read_settings(["--run", str(tmp_path)], environ={"MODEL_DIR": "elsewhere"})
    assert settings.model_dir == str(tmp_path)
    space = Settings.from_environ({"SPACE_ID": "you/space", "XDG_CACHE_HOME": str(tmp_path),
                                   "QUEUE_MAX_SIZE": "abc", "MODEL_REVISION": "  "})  # fmt: skip
    assert space.behind_proxy and space.mnist == (tmp_path / "mnist-gan" / "data", True)
    assert space.queue_max_size == 64 and space.model_revision is None
    assert space.plot_cache == tmp_path / "mnist-gan" / "plots"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_gan_core_never_imports_gradio_or_ui():
    for path in sorted((ROOT / "gan_core").rglob("*.py")):
        reached = {name.split(".")[0] for name in imported_modules(path)}
        assert not reached & {"gradio", "gradio_client", "starlette", "ui", "app"}, path
