"""Where a stage spends its time: pyinstrument over the face or action stage on real street
frames, written as text (to read and diff) and HTML (to click through).

    .venv/bin/python benchmarks/profile_stage.py action [--frames 60] [--max-fps 5]
    .venv/bin/python benchmarks/profile_stage.py face [--frames 60]

Writes benchmarks/profiles/<stage>.txt and .html. The stages run their real models on
vtest.avi frames 60 onwards (4-8 people), fed one frame at a time after a warm-up frame.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from stages_bench import CACHE, clip_frames, frame_messages  # noqa: E402

from vidsentry.config import Config  # noqa: E402
from vidsentry.samples import sample_cache  # noqa: E402


def build(stage: str, config: Config, tmp: Path):
    if stage == "action":
        from workers.action.worker import build_stage

        return build_stage(config)
    from workers.face.gallery_file import FileGallery
    from workers.face.worker import build_stage

    return build_stage(config, gallery=FileGallery(tmp / "gallery.json"))


def main() -> None:
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=["action", "face"])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--max-fps", type=float, default=None, help="action.pose.max_fps (default: the config's)")
    args = parser.parse_args()

    config = Config(models={"cache_dir": CACHE})
    if args.max_fps is not None:
        config.action.pose.max_fps = args.max_fps
    messages = frame_messages(clip_frames(sample_cache(CACHE).require("vtest"), args.frames + 1, start=60), "street", 10.0)
    with tempfile.TemporaryDirectory() as tmp:
        stage = build(args.stage, config, Path(tmp))
        stage.process(messages[:1])
        profiler = Profiler(interval=0.001)
        profiler.start()
        for message in messages[1:]:
            stage.process([message])
        profiler.stop()
    target = REPO / "benchmarks" / "profiles"
    target.mkdir(exist_ok=True)
    (target / f"{args.stage}.txt").write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    (target / f"{args.stage}.html").write_text(profiler.output_html())
    print(profiler.output_text(unicode=True, color=False))
    print(f"written: {target / args.stage}.txt, .html")


if __name__ == "__main__":
    main()
