"""Frames above a camera's pixel limit (``max_pixels``) are shrunk as they are decoded
(JPEG images) or refused with a clear error (other images, video files), and an unknown URL
scheme says so. The 12000x12000 images are generated (tests/big_images.py), not real media."""

from __future__ import annotations

import logging

import cv2
import pytest
from pydantic import ValidationError

from producers.images import decode_image
from producers.producer import Producer
from producers.sources import SourceError, open_source
from schemas import decode
from schemas.topics import FRAMES
from tests.big_images import huge_jpeg, huge_png
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config.cameras import CameraConfig, CamerasFile, ProducerSettings
from vidsentry.image_header import DEFAULT_MAX_PIXELS


def run_producer(cameras):
    bus = InMemoryBus(max_backlog=10000, publish_timeout_s=0.2)
    sink = bus.subscriber("sink", [FRAMES])
    producer = Producer(cameras, ProducerSettings(), bus)
    producer.run()
    return producer, [decode(r.value) for r in sink.poll(100000, 0.5)]


def test_a_12000x12000_jpeg_is_decoded_already_shrunk_within_the_limit():
    decoded = decode_image(huge_jpeg(), DEFAULT_MAX_PIXELS)
    height, width = decoded.image.shape[:2]
    assert decoded.shrunk_from == (12000, 12000)
    assert width * height <= DEFAULT_MAX_PIXELS and width == height >= 3000
    assert decoded.image[height // 2, width // 2].tolist() == pytest.approx([200, 200, 200], abs=8), "the picture survives"


@pytest.mark.reliability(fault='a 12000x12000 JPEG and PNG in an image folder (generated)',
                         happened='the JPEG is decoded already shrunk within max_pixels; the PNG is skipped with the reason and counted',
                         lost='the oversized PNG (counted in summary.json)')
def test_an_image_folder_shrinks_a_huge_jpeg_skips_a_huge_png_and_counts_it(tmp_path, samples, caplog):
    capture = cv2.VideoCapture(str(samples["carphone"]))
    cv2.imwrite(str(tmp_path / "a.jpg"), capture.read()[1])
    (tmp_path / "b_huge.jpg").write_bytes(huge_jpeg())
    (tmp_path / "c_huge.png").write_bytes(huge_png())
    cv2.imwrite(str(tmp_path / "d.jpg"), capture.read()[1])
    with caplog.at_level(logging.WARNING):
        producer, frames = run_producer([CameraConfig(id="dir", source=str(tmp_path), fps=2, max_side=512)])
    assert [f.seq for f in frames] == [0, 1, 3]
    assert (frames[1].width, frames[1].height) == (512, 512)
    status = producer.status()["cameras"]["dir"]
    assert status["state"] == "finished" and status["skipped_images"] == 1
    warnings = " ".join(r.getMessage() for r in caplog.records)
    assert "b_huge.jpg is 12000x12000 (144.0 MP), above max_pixels" in warnings and "shrunk" in warnings
    assert "skipping c_huge.png: the image is 12000x12000 (144.0 MP), above max_pixels" in warnings


def test_a_single_huge_jpeg_file_is_analysed_shrunk(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(huge_jpeg())
    _, frames = run_producer([CameraConfig(id="photo", source=str(tmp_path / "photo.jpg"), max_side=768)])
    assert [(f.width, f.height) for f in frames] == [(768, 768)]


def test_a_single_unreadable_image_file_is_a_clear_error(tmp_path):
    (tmp_path / "photo.png").write_bytes(huge_png())
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    producer, frames = run_producer([CameraConfig(id="png", source=str(tmp_path / "photo.png")),
                                     CameraConfig(id="broken", source=str(tmp_path / "broken.jpg"))])
    assert frames == []
    failures = producer.failures()
    assert "12000x12000 (144.0 MP), above max_pixels" in failures["png"] and "photo.png" in failures["png"]
    assert "cannot be decoded" in failures["broken"]


def test_a_video_with_frames_above_the_limit_is_refused_with_the_reason(samples):
    producer, frames = run_producer([CameraConfig(id="car", source=str(samples["carphone"]), max_pixels=176 * 144 - 1),
                                     CameraConfig(id="ok", source=str(samples["carphone"]), max_pixels=176 * 144)])
    assert {f.camera for f in frames} == {"ok"}
    (failure,) = producer.failures().values()
    assert "camera car: frames are 176x144 (0.0 MP), above max_pixels (25343)" in failure


@pytest.mark.reliability(fault='a source with an unknown URL scheme (`foo://x`)',
                         happened='a clear error naming the scheme and the supported ones',
                         lost='nothing')
def test_an_unknown_url_scheme_is_named_not_taken_for_a_missing_file():
    with pytest.raises(ValidationError) as caught:
        CameraConfig(id="x", source="foo://camera/1")
    (error,) = caught.value.errors()
    assert error["loc"] == ("source",)
    assert error["msg"] == "unsupported source scheme 'foo' (supported: rtsp, rtsps, rtmp, http, https, udp, tcp)"
    with pytest.raises(ValidationError, match="unsupported source scheme 'ftp'"):
        CamerasFile.model_validate({"cameras": [{"id": "x", "source": "ftp://host/video.mp4"}]})
    with pytest.raises(SourceError, match="unsupported source scheme 'foo'"):
        open_source("x", "foo://camera/1")
    assert CameraConfig(id="x", source="RTSP://host/stream").source == "RTSP://host/stream"
