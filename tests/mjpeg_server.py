"""A local HTTP MJPEG camera for tests that misbehaves on cue (generated frames).

Each frame's gray level encodes its number, so a test can tell which frames arrived.
``script`` lists, per connection, what the camera does: ("serve", n) sends n frames and
hangs up, ("stall", n) sends n frames and then goes silent with the connection open,
("refuse", 0) answers 503.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np


def frame_jpeg(number: int) -> bytes:
    image = np.full((96, 128, 3), (number * 10) % 250, np.uint8)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return buf.tobytes()


def frame_number(image: np.ndarray) -> int:
    return int(round(float(image.mean()) / 10))


class MjpegCamera:
    def __init__(self, script: list[tuple[str, int]], fps: float = 25.0) -> None:
        self.script = list(script)
        self.fps = fps
        self.connections = 0
        self.sent = 0
        self._closing = threading.Event()
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                camera.connections += 1
                action, count = camera.script.pop(0) if camera.script else ("serve", 10**6)
                if action == "refuse":
                    self.send_error(503, "camera rebooting")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    for _ in range(count):
                        if camera._closing.is_set():
                            return
                        jpeg = frame_jpeg(camera.sent)
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                                         + jpeg + b"\r\n")
                        camera.sent += 1
                        time.sleep(1 / camera.fps)
                    if action == "stall":
                        camera._closing.wait(60)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/video.mjpg"

    def __enter__(self) -> MjpegCamera:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
