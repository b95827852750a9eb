"""A face worker does not load TensorFlow: mediapipe would import it only for API-doc
decorators, at the cost of seconds of start-up and hundreds of MB per worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]

BUILD = """
import sys
from tests.conftest import CACHE_ROOT
from vidsentry.config import Config
from workers.face.worker import build_stage
config = Config.model_validate({"models": {"cache_dir": str(CACHE_ROOT)}})
stage = build_stage(config)
assert stage.detector is not None
print("tensorflow" in sys.modules)
"""


def test_building_the_face_stage_does_not_import_tensorflow():
    result = subprocess.run([sys.executable, "-c", BUILD], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_tensorflow_still_imports_after_the_face_detector():
    code = BUILD + "import tensorflow as tf\nassert int(tf.constant(2) + 1) == 3\nprint('tf ok')\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "tf ok"


def test_the_face_stage_builds_while_another_thread_imports_tensorflow():
    """`vidsentry run` loads the stages in parallel: the face detector must neither wait for the
    action stage's TensorFlow import nor break it (hiding ``tensorflow`` from ``sys.modules``,
    as this once did, makes an import running on another thread fail)."""
    code = """
import sys, threading
errors = []
def import_tensorflow():
    try:
        import tensorflow as tf
        assert int(tf.constant(2) + 1) == 3
    except BaseException as exc:
        errors.append(repr(exc))
thread = threading.Thread(target=import_tensorflow)
thread.start()
""" + BUILD + """
thread.join()
assert not errors, errors
doc = sys.modules["mediapipe.tasks.python.core.optional_dependencies"]
print(doc.doc_controls.do_not_generate_docs(len) is len)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "True"
