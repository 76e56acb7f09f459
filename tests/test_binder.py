"""mybinder opens JupyterLab on the quick start: check the configuration repo2docker will build."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_binder_installs_ntlab_with_the_notebook_extras():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    # the alpaca extra too, so every example notebook runs on binder
    assert (ROOT / "binder" / "requirements.txt").read_text().split() == [".[lab,alpaca]"]
    readme = (ROOT / "README.md").read_text()
    assert "mybinder.org/v2/gh/" in readme and "urlpath=lab/tree/notebooks/01_quickstart.ipynb" in readme
    assert (ROOT / "notebooks" / "01_quickstart.ipynb").exists()


@pytest.mark.skipif(shutil.which("repo2docker") is None, reason="repo2docker is in the dev extras")
def test_repo2docker_builds_the_notebook_environment():
    result = subprocess.run(
        ["repo2docker", "--no-build", "--no-run", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dockerfile = result.stdout + result.stderr
    assert "python=3.11" in dockerfile
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
