"""The install is what STACK.md says: headless OpenCV only, mediapipe and tensorflow work."""

from importlib import metadata

import numpy as np
import pytest


@pytest.mark.parametrize("unwanted", ["opencv-contrib-python", "opencv-python", "jax", "jaxlib", "sounddevice", "sentencepiece"])
def test_unwanted_packages_are_not_installed(unwanted):
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.distribution(unwanted)


def test_cv2_is_the_headless_build():
    import cv2

    assert metadata.version("opencv-python-headless") == "4.11.0.86"
    assert cv2.__version__.startswith("4.11")
    gui = [line for line in cv2.getBuildInformation().splitlines() if line.strip().startswith("GUI:")]
    assert gui and gui[0].split(":", 1)[1].strip() == "NONE"


def test_mediapipe_detects_nothing_on_a_blank_image():
    import mediapipe as mp

    assert mp.__version__ == "0.10.21"
    with mp.solutions.face_detection.FaceDetection(model_selection=0) as detector:
        result = detector.process(np.zeros((120, 160, 3), np.uint8))
    assert not result.detections


def test_tensorflow_runs():
    import tensorflow as tf

    assert tf.__version__ == "2.19.1"
    assert float(tf.reduce_sum(tf.ones((2, 3)))) == 6.0
