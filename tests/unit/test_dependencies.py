"""Run without their packages (python -S: no site-packages), the scripts say in one line what is missing
and how to install it, and exit 2, instead of a ModuleNotFoundError traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script", ["producer.py", "consumer.py"])
def test_missing_packages_are_named_with_the_command_that_installs_them(script, tmp_path):
    result = subprocess.run([sys.executable, "-S", str(ROOT / script), str(tmp_path / "config.ini")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{script}: the Python packages click and confluent-kafka are not installed for ")
    assert "pip install -r requirements.txt" in lines[0] and "make demo" in lines[0]


def test_one_missing_package_is_spoken_of_in_the_singular(tmp_path):
    """--help before installing, with click there but confluent-kafka not: 'it', not 'them'."""
    import click

    site = tmp_path / "site"
    site.mkdir()
    (site / "click").symlink_to(Path(click.__file__).parent)
    result = subprocess.run([sys.executable, "-S", str(ROOT / "producer.py"), "--help"], capture_output=True,
                            text=True, cwd=tmp_path, timeout=60, env={"PYTHONPATH": str(site)})
    assert result.returncode == 2
    assert result.stderr.startswith("producer.py: the Python package confluent-kafka is not installed for ")
    assert "install it with `pip install -r requirements.txt`" in result.stderr
