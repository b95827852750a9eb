"""Producer metrics, per camera (a bounded label: cameras are configured)."""

from prometheus_client import Counter, Gauge, Histogram

FRAMES = Counter("vidsentry_producer_frames_total",
                 "Frames by outcome: captured, sampled_out, published (acknowledged by the bus), spooled (to disk while the bus "
                 "is unreachable), replayed (from the spool, acknowledged), dropped (any loss), unreadable",
                 ["camera", "outcome"])
ENCODE_SECONDS = Histogram("vidsentry_producer_encode_seconds", "Resize + JPEG encode time per frame", ["camera"],
                           buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1))
RECONNECTS = Counter("vidsentry_source_reconnects_total", "Times a live source was reopened", ["camera"])
DOWN_SECONDS = Counter("vidsentry_source_down_seconds_total", "Seconds a live source was lost before it came back", ["camera"])
CAMERA_UP = Gauge("vidsentry_camera_up", "1 while the camera delivers frames", ["camera"])
CAMERA_FPS = Gauge("vidsentry_camera_fps", "Frames per second handed to the bus, over the last seconds", ["camera"])
BUFFERED = Gauge("vidsentry_producer_buffered_frames", "Frames waiting for the bus", ["camera"])
SPOOLED = Gauge("vidsentry_producer_spooled_frames", "Frames in the camera's on-disk spool, waiting for the bus", ["camera"])
SPOOL_BYTES = Gauge("vidsentry_producer_spool_bytes", "Bytes of the camera's on-disk spool", ["camera"])
