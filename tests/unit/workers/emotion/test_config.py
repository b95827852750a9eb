"""The emotion config section: defaults, bounds, and that it fits the generated example config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import Field, ValidationError

from vidsentry.config import Config
from vidsentry.config.example import example_yaml
from workers.emotion.config import EmotionConfig, model_format


def test_defaults():
    config = EmotionConfig()
    assert (config.model_path, config.runtime, config.labels, config.input_scaling) == (None, "auto", None, None)
    assert (config.model, config.flip) == ("vgg48+mini-xception", True)
    assert config.min_face_px == 24 and config.max_batch == 64
    assert all(field.description for field in EmotionConfig.model_fields.values())


@pytest.mark.parametrize(("values", "message"), [
    ({"min_face_px": 2}, "greater than or equal to 4"),
    ({"max_batch": 0}, "greater than or equal to 1"),
    ({"max_batch": 5000}, "less than or equal to 1024"),
    ({"runtime": "onnx"}, "Input should be 'auto'"),
    ({"labels": ["only"]}, "at least 2 labels"),
    ({"labels": ["a", "b", "a"]}, "duplicate labels: a"),
    ({"labels": ["a", " "]}, "non-empty"),
    ({"model_path": "mine.tflite", "runtime": "keras"}, "runtime keras cannot run mine.tflite"),
    ({"model_path": "saved_model_dir", "runtime": "tflite"}, "a savedmodel model"),
    ({"min_fase_px": 30}, "Extra inputs are not permitted"),
])
def test_bad_values_are_refused_with_the_field(values, message):
    with pytest.raises(ValidationError, match=message):
        EmotionConfig(**values)


def test_model_format_by_path():
    assert [model_format(Path(p)) for p in ("a.tflite", "a.KERAS", "a.h5", "a.hdf5", "exported")] == [
        "tflite", "keras", "keras", "keras", "savedmodel"]


class WiredConfig(Config):
    """Config as it will be once the emotion section is wired in (vidsentry/config/models.py)."""

    emotion: EmotionConfig = Field(default_factory=EmotionConfig)


def test_the_generated_example_config_round_trips_with_the_section():
    text = example_yaml(WiredConfig)
    assert "emotion:" in text and "min_face_px: 24" in text
    loaded = WiredConfig.model_validate(yaml.safe_load(text))
    assert loaded.emotion == EmotionConfig()
