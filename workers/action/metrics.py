"""The action worker's metrics (docs/STYLE.md §5): labels are camera, model and action only;
never a track id."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PERSONS_TRACKED = Gauge("vidsentry_action_persons_tracked", "Confirmed body tracks in view", ["camera"])
POSE_SECONDS = Histogram("vidsentry_action_pose_seconds", "Pose estimation time per frame", ["model"],
                         buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5))
PEOPLE_FOUND = Counter("vidsentry_action_people_found_total", "People found by the pose model", ["camera", "model"])
ACTIONS = Counter("vidsentry_actions_total", "Tracks entering an action (counted once per change of label)",
                  ["camera", "action"])
CLASSIFY_SECONDS = Histogram("vidsentry_action_classify_seconds", "Action classification time per frame", ["model"],
                             buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25))
FRAMES_WITHOUT_POSE = Counter(
    "vidsentry_action_frames_without_pose_total",
    "Frames answered with the camera's last pose pass: reason rate (action.pose.max_fps), stale (a live frame later "
    "than action.pose.max_lag_s) or no_motion (nothing moved, action.pose.motion_min_area)", ["camera", "reason"])
