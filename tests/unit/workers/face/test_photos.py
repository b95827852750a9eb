"""Photos of every common format are read alike (converted from the real JPEG at test time)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.workers.face.photo_files import converted
from tests.unit.workers.face.support import read_rgb
from workers.face.photos import PHOTO_SUFFIXES, UnreadablePhotoError, read_photo


@pytest.mark.parametrize("suffix", ["gif", "png", "webp", "bmp", "jpeg"])
def test_every_format_reads_as_the_same_picture(samples, tmp_path, suffix):
    path = converted(samples["obama2"], suffix, tmp_path)
    assert path.suffix in PHOTO_SUFFIXES
    rgb = read_photo(path)
    original = read_rgb(samples["obama2"])
    assert rgb.shape == original.shape and rgb.dtype == np.uint8
    assert np.abs(rgb.astype(int) - original.astype(int)).mean() < 12, "GIF's 256-colour palette costs a little"


def test_what_is_not_an_image_says_so(tmp_path):
    text = tmp_path / "notes.gif"
    text.write_text("not a picture")
    with pytest.raises(UnreadablePhotoError, match="not an image"):
        read_photo(text)
    with pytest.raises(UnreadablePhotoError, match="cannot be read"):
        read_photo(tmp_path / "missing.jpg")
