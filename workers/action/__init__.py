"""The action worker pool: ``frames`` -> ``actions``.

Every person's pose (``pose.py``: MoveNet MultiPose by default, chosen by measurement in
benchmarks/action.md), body tracks per camera (``tracker.py``), a window of scale-free
keypoints per track (``keypoints.py``), and a label per track from the rules
(``rules.py``) or a trained GRU (``temporal.py``). ``worker.build_stage`` assembles the
stage; ``commands.py`` holds ``train action``, ``evaluate action`` and ``dataset stats``.
"""
