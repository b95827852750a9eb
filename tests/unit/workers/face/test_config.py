"""FaceConfig: documented defaults, bounds, and the rules that keep identity safe."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workers.face.config import FaceConfig


def test_every_field_has_a_default_and_a_description():
    config = FaceConfig()
    for name, field in FaceConfig.model_fields.items():
        assert field.description, name
        assert getattr(config, name) == field.get_default(call_default_factory=True)
    assert config.detector == "mediapipe-auto" and config.match_threshold == 0.48 and config.match_margin == 0.05
    assert "AT&T/ORL" in FaceConfig.model_fields["match_threshold"].description, "calibrated on named data"


@pytest.mark.parametrize("settings, key", [
    ({"min_agreeing_samples": 1}, "min_agreeing_samples"),
    ({"match_threshold": 0}, "match_threshold"),
    ({"detector": "yolo"}, "detector"),
    ({"crop_size": 8}, "crop_size"),
    ({"gallery_redis_prefix": "bad prefix"}, "gallery_redis_prefix"),
    ({"no_such_key": 1}, "no_such_key"),
])
def test_bad_values_name_the_field(settings, key):
    with pytest.raises(ValidationError, match=key):
        FaceConfig(**settings)


def test_a_decision_must_fit_in_the_per_track_cap():
    with pytest.raises(ValidationError, match="cannot exceed max_embeddings_per_track"):
        FaceConfig(min_agreeing_samples=5, max_embeddings_per_track=4)
