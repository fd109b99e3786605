"""Rasa's own check of the dialogue: every test story in tests/stories is predicted action by action."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def test_every_test_story_is_followed(stack, tmp_path):
    rasa = Path(sys.executable).with_name("rasa")
    done = subprocess.run(
        [str(rasa), "test", "core", "--stories", "tests/stories", "--model", str(stack.model),
         "--out", str(tmp_path), "--fail-on-prediction-errors", "--no-plot"],
        cwd=ROOT, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"}, capture_output=True, text=True, timeout=600)
    failed = (tmp_path / "failed_test_stories.yml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + (failed.read_text() if failed.exists() else "")
    assert "None of the test stories failed" in failed.read_text()
