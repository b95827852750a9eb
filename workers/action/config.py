"""The ``action`` section of the configuration: pose model, body tracks, windows, rules and
the optional trained temporal model. Every threshold of the rules is here, in units that
do not depend on image size: lengths in torso lengths (shoulder centre to hip centre),
speeds in torso lengths per second, angles in degrees from vertical.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vidsentry.image_header import DEFAULT_MAX_PIXELS


class Section(BaseModel):
    """Unknown keys are errors, assignments are validated (as ``vidsentry.config.section.Section``,
    which this module cannot import: the platform's config tree imports this module)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


BUILTIN_POSE_MODELS = ("movenet-multipose", "hog-blazepose")


class PoseConfig(Section):
    model: str = Field(
        "movenet-multipose", title="Pose model",
        description="movenet-multipose: MoveNet MultiPose Lightning, every person in one pass (chosen by measurement, "
                    "benchmarks/action.md); hog-blazepose: OpenCV HOG people detector, then MediaPipe Pose on each "
                    "person's crop (slower, fewer people found). Or 'module:callable', a factory (PoseConfig, "
                    "cache_root) -> PoseEstimator for your own model.")
    input_long_side: int = Field(
        640, ge=128, le=2048, multiple_of=32, title="MoveNet input size",
        description="Frames are shrunk so their long side is at most this many pixels before MoveNet. On the street "
                    "benchmark (benchmarks/action.md) 640 and 768 both found 89% of the people (with tiles), 640 in "
                    "~70% of the time; 512 found 85%.")
    min_person_score: float = Field(0.2, ge=0.0, le=1.0, title="Smallest person score",
                                    description="People the pose model scores below this are ignored.")
    tile_when_full: bool = Field(
        True, title="Tile crowded frames",
        description="MoveNet returns at most 6 people per pass; when all 6 are found, look again on two overlapping "
                    "halves of the frame and merge, so crowds of 7+ are not cut at 6.")
    max_fps: float | None = Field(
        5.0, gt=0, le=120, title="Pose passes per second",
        description="Pose runs on at most this many frames per second of each camera (capture clock); the frames "
                    "between report the people of the last pose pass, and the windows hold only real passes. The "
                    "pose model is the costliest stage: at 5/s a 10 fps 768x576 street camera with every stage on "
                    "keeps up on 2 CPU cores, at 10/s it does not (BENCHMARKS.md). Null: every frame.")
    max_lag_s: float | None = Field(
        2.0, gt=0, le=3600, title="Largest lag for a pose pass",
        description="A live frame (a camera, or a file paced in real time) that reaches the stage more than this many "
                    "seconds after capture, because the worker has fallen behind, gets the people of the last pose "
                    "pass instead of a pass of its own: the worker catches up instead of answering ever later. "
                    "Files read as fast as possible are never skipped. Null: never skip.")
    motion_min_area: float | None = Field(
        0.002, gt=0, le=1, title="Motion gate: changed area",
        description="A frame gets a pose pass only when at least this share of its pixels changed since the camera's "
                    "last pass (compared at 160 px wide, grey, blurred): a still scene costs no pose passes "
                    "(workers/action/motion_gate.py). Null: no gating.")
    motion_idle_s: float | None = Field(
        1.0, gt=0, le=60, title="Motion gate: pass while still",
        description="While people are tracked, a pose pass runs at least this often even without motion, so a person "
                    "who stood still and then falls has a recent standing pose to compare with. Null: none.")
    hog_upscale: float = Field(1.5, ge=1.0, le=4.0, title="HOG upscale",
                               description="hog-blazepose only: the frame is enlarged by this factor before the HOG "
                                           "detector, whose 64x128 window misses people shorter than ~128 px.")
    hog_min_score: float = Field(0.5, ge=0.0, le=10.0, title="HOG score threshold",
                                 description="hog-blazepose only: smallest HOG SVM score of a person box.")

    @field_validator("model")
    @classmethod
    def _known_or_factory(cls, value: str) -> str:
        if value not in BUILTIN_POSE_MODELS and ":" not in value:
            raise ValueError(f"must be one of {', '.join(BUILTIN_POSE_MODELS)} or 'module:callable'")
        return value


class TrackerConfig(Section):
    min_hits: int = Field(2, ge=1, le=30, title="Frames to confirm a track",
                          description="A body track is reported only after this many consecutive detections.")
    max_misses: int = Field(10, ge=0, le=300, title="Frames a track survives unseen",
                            description="A confirmed track lives on this many frames without a detection "
                                        "(occlusion, a missed detection) before it ends.")
    min_iou: float = Field(0.2, ge=0.0, le=1.0, title="Smallest overlap to join",
                           description="A person joins a track when their box overlaps the track's predicted box "
                                       "at least this much...")
    max_shift: float = Field(0.6, ge=0.0, le=5.0, title="Largest centre shift to join",
                             description="...or when its centre moved at most this many box heights (fast motion, "
                                         "low frame rates) and its height changed less than 1.5x.")


class WindowConfig(Section):
    seconds: float = Field(2.0, gt=0.2, le=30.0, title="Window length",
                           description="Each track keeps its keypoints of this many recent seconds; actions are "
                                       "judged on that window.")
    min_frames: int = Field(5, ge=2, le=300, title="Frames before a label",
                            description="A track is labelled 'unknown' until its window holds this many frames.")
    min_keypoint_score: float = Field(0.25, ge=0.0, le=1.0, title="Keypoint score threshold",
                                      description="Keypoints scored below this count as not seen.")


class RulesConfig(Section):
    """Thresholds of the rule classifier, the default that needs no training."""

    walk_speed: float = Field(0.8, gt=0, le=50, title="Walking speed",
                              description="Hip speed (torso lengths/s) above which a person walks.")
    walk_leg_motion: float = Field(1.2, gt=0, le=50, title="Walking leg motion",
                                   description="Ankle speed relative to the hips (torso lengths/s) above which a "
                                               "person walks even with little travel (towards the camera, in place).")
    run_speed: float = Field(5.5, gt=0, le=100, title="Running speed",
                             description="Hip speed (torso lengths/s) above which a person runs (walking is ~2-3).")
    run_leg_motion: float = Field(7.0, gt=0, le=100, title="Running leg motion",
                                  description="Ankle speed relative to the hips above which a moving person runs.")
    lying_angle: float = Field(60.0, ge=10, le=90, title="Lying torso angle",
                               description="Torso angle from vertical (degrees) above which a still person lies.")
    sit_max_torso_angle: float = Field(35.0, ge=0, le=90, title="Sitting torso angle",
                                       description="A sitting person's torso is within this many degrees of vertical.")
    sit_max_thigh_drop: float = Field(0.45, ge=0, le=2, title="Sitting thigh drop",
                                      description="Sitting: the knees are at most this many torso lengths below the "
                                                  "hips (standing: ~0.9).")
    fall_min_drop: float = Field(0.8, gt=0, le=10, title="Fall: hip drop",
                                 description="Falling: the hips drop at least this many torso lengths...")
    fall_max_seconds: float = Field(1.5, gt=0, le=10, title="Fall: duration",
                                    description="...within this many seconds...")
    fall_min_angle_change: float = Field(40.0, ge=0, le=90, title="Fall: torso turn",
                                         description="...while the torso turns at least this many degrees towards "
                                                     "horizontal, ending beyond the lying angle minus 15.")
    fight_max_distance: float = Field(3.0, gt=0, le=20, title="Fight: distance",
                                      description="Fighting: two people's hips are at most this many torso lengths "
                                                  "apart (mean of their torso lengths)...")
    fight_limb_speed: float = Field(5.0, gt=0, le=100, title="Fight: limb speed",
                                    description="...and their wrists move relative to their own hips faster than "
                                                "this (torso lengths/s, mean of the pair; arm swing when walking ~2).")
    fight_min_arm_extension: float = Field(
        0.5, ge=0, le=3, title="Fight: arm extension",
        description="...while one of them straightens and bends an arm by at least this many torso lengths (a punch; "
                    "a walking swing keeps the arm straight, ~0.1)...")
    fight_min_wrist_score: float = Field(
        0.4, ge=0, le=1, title="Fight: wrist score",
        description="...counting only wrists the pose model scores at least this (on small, far people wrists are "
                    "guesses whose jitter looks like fast motion)...")
    fight_min_fraction: float = Field(0.5, gt=0, le=1, title="Fight: share of the window close",
                                      description="...close for at least this share of the window...")
    fight_min_seconds: float = Field(1.0, ge=0, le=30, title="Fight: time close",
                                     description="...and at least this many seconds (people passing are close briefly)...")
    fight_min_fast_frames: int = Field(
        4, ge=1, le=300, title="Fight: fast frames",
        description="...with a wrist faster than the limb speed in at least this many frames (repeated blows; a "
                    "handshake or a reach for something is one or two).")

    @model_validator(mode="after")
    def _walking_below_running(self) -> RulesConfig:
        if self.run_speed <= self.walk_speed:
            raise ValueError(f"run_speed ({self.run_speed}) must be above walk_speed ({self.walk_speed})")
        return self


class FightConfig(Section):
    """The fight model: optical-flow and people features of each camera's last seconds, scored
    by a small trained model (workers/action/models/fight.json unless ``model_path`` is set)."""

    enabled: bool = Field(True, title="Fight model on",
                          description="Score every pose pass's window with the fight model and label the people in "
                                      "the motion 'fighting'. Off: only the rules' fight test.")
    model_path: Path | None = Field(
        None, title="Fight model file",
        description="A fight.json written by `vidsentry train action --clips DIR`. Null: the model shipped in "
                    "workers/action/models/fight.json (trained on CCTV fight clips, EVALUATION.md).")
    threshold: float | None = Field(
        0.85, gt=0.0, lt=1.0, title="Fight probability threshold",
        description="A window whose fight probability reaches this is a fight. 0.85: few false alarms (6% of the dev "
                    "no-fight CCTV clips, none on the sample street and car clips) at 30% recall. Null: the model's "
                    "own threshold, chosen when it was trained (0.585: 76% recall, but 25% of no-fight clips and about "
                    "a fifth of a busy street's windows flagged). EVALUATION.md has the whole trade-off.")
    window_s: float = Field(2.0, ge=0.5, le=10.0, title="Fight window",
                            description="Seconds of motion each decision looks at (the model was trained on 2).")
    min_window_s: float = Field(1.0, ge=0.3, le=10.0, title="Shortest fight window",
                                description="No decision before a camera has this many seconds of motion.")
    flow_width: int = Field(160, ge=64, le=640, title="Optical flow width",
                            description="Frames are shrunk to this many pixels wide for the optical flow (cost per "
                                        "frame: EVALUATION.md). The model was trained at 160.")
    flow_max_fps: float = Field(10.0, gt=0, le=60, title="Optical flow rate",
                                description="Flow between frames at most this many times a second per camera (the "
                                            "model was trained at 10).")
    report_region: bool = Field(
        True, title="Report fights nobody was found in",
        description="When the model finds a fight but the pose model found nobody in the motion (people wrestling "
                    "or small in the view often score too low), report one 'fighting' entry whose box is the region "
                    "of the motion and whose track id ends in /fight, so the fight alert can still fire.")

    @model_validator(mode="after")
    def _min_within_window(self) -> FightConfig:
        if self.min_window_s > self.window_s:
            raise ValueError(f"min_window_s ({self.min_window_s}) must not exceed window_s ({self.window_s})")
        return self


class PostureConfig(Section):
    """Posture (standing, sitting, lying) from one pose, where there is no window: every photo of
    an image folder, and a track too new for the temporal labels (workers/action/posture.py)."""

    min_keypoint_score: float = Field(0.2, ge=0.0, le=1.0, title="Posture keypoint threshold",
                                      description="Keypoints scored below this count as not seen for posture "
                                                  "(knees of seated people in close-up photos score 0.2-0.3).")
    stand_min_thigh_drop: float = Field(0.6, gt=0, le=3, title="Standing thigh drop",
                                        description="Standing: the knees are at least this many torso lengths below "
                                                    "the hips (~0.9 upright)...")
    stand_max_thigh_angle: float = Field(35.0, ge=0, le=90, title="Standing thigh angle",
                                         description="...the thighs within this many degrees of vertical...")
    stand_min_knee_angle: float = Field(110.0, ge=0, le=180, title="Standing knee angle",
                                        description="...and, when the ankles are seen, the knees at least this "
                                                    "straight (degrees; 180 straight; a walker's swinging leg bends "
                                                    "to ~120, a kneeling person's to ~90).")
    photo_long_side: int | None = Field(
        256, ge=96, le=2048, title="Second pose pass on photos",
        description="A photo gets a second pose pass on a copy shrunk to this long side, merged with the first: "
                    "MoveNet, made for people small in a CCTV view, misses most people of close-up group photos at "
                    "640 px and finds them at 256 px (5 face-api sample photos, 19 people: 6 reported with one pass, "
                    "18 with both; EVALUATION.md). Null: one pass.")


class ActionConfig(Section):
    pose: PoseConfig = Field(default_factory=PoseConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    window: WindowConfig = Field(default_factory=WindowConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    fight: FightConfig = Field(default_factory=FightConfig)
    posture: PostureConfig = Field(default_factory=PostureConfig)
    model_path: Path | None = Field(
        None, title="Trained action model",
        description="A model written by `vidsentry train action` (.keras with its .labels.json beside it). Set: it "
                    "replaces the rules; unset: the rule classifier.")
    min_model_confidence: float = Field(
        0.0, ge=0.0, le=1.0, title="Smallest model confidence",
        description="Trained model only: a track whose top class scores below this is reported as 'unknown'.")
    max_people: int = Field(32, ge=1, le=256, title="People per frame",
                            description="Most people reported per frame (the largest are kept).")
    max_frame_pixels: int = Field(DEFAULT_MAX_PIXELS, ge=64 * 64, le=1 << 30, title="Largest frame",
                                  description="A frame above this many pixels (width x height, read from its JPEG "
                                              "header before decoding) is dead-lettered with the reason.")
