"""The action stage: ``frames`` -> ``actions``, one ActionsMsg per frame.

Per frame: find every person's pose, join people to the camera's body tracks, add each
person's keypoints to their track's window, then label every confirmed track from the
windows of all the camera's tracks (fighting is a relation between tracks). Only people
seen in this frame with a confirmed track are reported. Pose runs at most
``action.pose.max_fps`` times a second per camera, and not on live frames that arrive more
than ``action.pose.max_lag_s`` late (a worker that fell behind catches up); such a frame is
answered with the people of the camera's last pose pass (it is still decoded: an
unreadable frame is dead-lettered, never answered).

A track whose window is still too short for a temporal label (and any track the classifier
leaves ``unknown``) gets its posture from the frame's pose alone (``posture.py``); each label
says which it is (``PersonAction.kind``). A still frame (a photo of an image folder) is a
scene of its own: every person found in it gets a posture, with no tracker, window or pose-rate
limit, and the camera's video state is left as it was.

State is per camera (tracks, windows, last labels, last outputs) and is dropped on
revoke: the next owner of a camera's partition starts fresh tracks with new ids.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schemas import ActionsMsg, FrameMsg, PersonAction
from vidsentry.config.models import Config
from workers.action.classifier import TEMPORAL, UNKNOWN, ActionClassifier, ActionGuess, make_classifier
from workers.action.config import ActionConfig
from workers.action.fight import CameraFight, FightDetector
from workers.action.keypoints import TrackWindow
from workers.action.metrics import ACTIONS, CLASSIFY_SECONDS, FRAMES_WITHOUT_POSE, PEOPLE_FOUND, PERSONS_TRACKED, POSE_SECONDS
from workers.action.motion_gate import MotionGate
from workers.action.photo_pose import photo_people
from workers.action.pose import PersonPose, PoseEstimator
from workers.action.pose_factory import make_pose_estimator
from workers.action.posture import judge_posture
from workers.action.tracker import BodyTrack, BodyTracker
from workers.frames import decode_frame
from workers.per_camera import PerCameraStage

log = logging.getLogger(__name__)

@dataclass
class CameraState:
    tracker: BodyTracker
    windows: dict[str, TrackWindow] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    outputs: OrderedDict[str, ActionsMsg] = field(default_factory=OrderedDict)
    """The last outputs by frame id (``PerCameraStage.answer_once``)."""
    last_pass: ActionsMsg | None = None
    """The output of the last frame pose ran on."""
    fight: CameraFight | None = None
    """Motion and group sizes for the fight model (None when it is off)."""
    gate: MotionGate | None = None
    """Skips pose passes while nothing moves (None when motion gating is off)."""


class ActionStage(PerCameraStage[CameraState, ActionsMsg]):
    name = "action"
    camera_gauge = PERSONS_TRACKED

    def __init__(self, config: ActionConfig, estimator: PoseEstimator, classifier: ActionClassifier,
                 clock: Callable[[], float] = time.time, fight: FightDetector | None = None) -> None:
        """``clock`` is the wall clock that live frames' capture times are compared with;
        ``fight`` the fight model (None: only the classifier's own fight test)."""
        self.config = config
        self.fight = fight
        self.clock = clock
        self.estimator = estimator
        self.classifier = classifier
        self.window_seconds = max(config.window.seconds, getattr(classifier, "window_seconds", 0.0))
        super().__init__()
        self._still_prefix = secrets.token_hex(3)

    def process(self, batch: list[FrameMsg]) -> list[ActionsMsg]:
        return [self._answer(frame) for frame in batch]

    def _answer(self, frame: FrameMsg) -> ActionsMsg:
        return self.answer_once(frame, lambda state: self._fresh_answer(frame, state))

    def _fresh_answer(self, frame: FrameMsg, state: CameraState) -> ActionsMsg:
        rgb = decode_frame(frame, self.config.max_frame_pixels)
        if frame.still:
            output = self._still(frame, rgb)  # no flow across photos, no tracks, no pose-rate limit
        else:
            if state.fight is not None:
                state.fight.motion.add(frame.ts_capture, rgb)
            skip = self._skip_reason(state, frame)
            if not skip and state.gate is not None and not state.gate.moved(
                    frame.ts_capture, rgb, bool(state.tracker.tracks)):
                skip = "no_motion"
            if skip:
                last = state.last_pass
                output = ActionsMsg(frame.camera, frame.seq, frame.ts_capture, last.width, last.height, last.persons)
                FRAMES_WITHOUT_POSE.labels(frame.camera, skip).inc()
            else:
                output = self._pose_pass(state, frame, rgb)
                state.last_pass = output
        return output

    def _skip_reason(self, state: CameraState, frame: FrameMsg) -> str | None:
        """Why this frame gets the last pass's people instead of a pass: ``rate`` when the
        camera's last pass is more recent than the pose rate allows (10% slack for capture
        jitter; a frame older than the last pass, a replay, gets a pass), ``stale`` when a
        live frame arrives later than ``max_lag_s`` after capture."""
        pose, last = self.config.pose, state.last_pass
        if last is None:
            return None
        since = frame.ts_capture - last.ts_capture
        if pose.max_fps is not None and 0 <= since < 0.9 / pose.max_fps:
            return "rate"
        if frame.live and pose.max_lag_s is not None and self.clock() - frame.ts_capture > pose.max_lag_s:
            return "stale"
        return None

    def _pose_pass(self, state: CameraState, frame: FrameMsg, rgb: np.ndarray) -> ActionsMsg:
        height, width = rgb.shape[:2]
        people = self._estimate(frame.camera, rgb)
        update = state.tracker.update(np.stack([p.box for p in people]) if people else np.zeros((0, 4)))
        for ended in update.ended:
            state.windows.pop(ended.track_id, None)
            state.labels.pop(ended.track_id, None)
        for person, track in zip(people, update.tracks):
            window = state.windows.setdefault(track.track_id, TrackWindow(self.window_seconds))
            window.add(frame.ts_capture, person.keypoints, person.box)

        confirmed = {t.track_id for t in state.tracker.confirmed}
        guesses = self._classify(state, confirmed)
        region = self._fights(state, frame, people, update.tracks, confirmed, guesses, width, height)
        persons = []
        for person, track in zip(people, update.tracks):
            if track.track_id not in confirmed:
                continue
            guess = guesses.get(track.track_id, ActionGuess(UNKNOWN, 0.0))
            if guess.label == UNKNOWN:
                guess = judge_posture(person.keypoints, person.box, self.config.rules, self.config.posture,
                                      (width, height))
            if state.labels.get(track.track_id) != guess.label:
                state.labels[track.track_id] = guess.label
                ACTIONS.labels(frame.camera, guess.label).inc()
            persons.append(_person(person, track.track_id, guess, state.windows[track.track_id].span, width, height))
        PERSONS_TRACKED.labels(frame.camera).set(len(persons))
        if region is not None:
            persons.append(region)
        return ActionsMsg(frame.camera, frame.seq, frame.ts_capture, width, height, persons)

    def _still(self, frame: FrameMsg, rgb: np.ndarray) -> ActionsMsg:
        """Every person of one photo with their posture; track ids name the photo, never reused."""
        height, width = rgb.shape[:2]
        scene = f"{frame.camera}/{self._still_prefix}-still-{frame.seq}"
        persons = []
        for index, person in enumerate(self._estimate(frame.camera, rgb, photo=True), 1):
            guess = judge_posture(person.keypoints, person.box, self.config.rules, self.config.posture, (width, height))
            ACTIONS.labels(frame.camera, guess.label).inc()
            persons.append(_person(person, f"{scene}/{index}", guess, (frame.ts_capture, frame.ts_capture), width,
                                   height))
        return ActionsMsg(frame.camera, frame.seq, frame.ts_capture, width, height, persons, still=True)

    def _estimate(self, camera: str, rgb: np.ndarray, photo: bool = False) -> list[PersonPose]:
        started = time.perf_counter()
        if photo:
            people = photo_people(self.estimator, rgb, self.config.posture.photo_long_side)
        else:
            people = self.estimator.estimate(rgb, scene=camera)
        POSE_SECONDS.labels(self.estimator.name).observe(time.perf_counter() - started)
        PEOPLE_FOUND.labels(camera, self.estimator.name).inc(len(people))
        if len(people) > self.config.max_people:
            people = sorted(people, key=lambda p: -float((p.box[2] - p.box[0]) * (p.box[3] - p.box[1])))
            people = people[:self.config.max_people]
        return people

    def _classify(self, state: CameraState, confirmed: set[str]) -> dict[str, ActionGuess]:
        histories = {track_id: state.windows[track_id].history() for track_id in confirmed if track_id in state.windows}
        if not histories:
            return {}
        started = time.perf_counter()
        guesses = self.classifier.classify(histories)
        CLASSIFY_SECONDS.labels(self.classifier.name).observe(time.perf_counter() - started)
        return guesses

    def _fights(self, state: CameraState, frame: FrameMsg, people: list[PersonPose], tracks: list[BodyTrack],
                confirmed: set[str], guesses: dict[str, ActionGuess], width: int, height: int) -> PersonAction | None:
        """Label 'fighting' the people the fight model puts in a fight (a fall stays a fall);
        the region entry when the fight is where nobody was found."""
        if self.fight is None or state.fight is None:
            return None
        boxes = {track.track_id: person.box for person, track in zip(people, tracks) if track.track_id in confirmed}
        verdict = self.fight.assess(frame.camera, state.fight, frame.ts_capture, boxes, width, height)
        if verdict is None:
            return None
        for track_id, confidence in verdict.fighting.items():
            if guesses.get(track_id, ActionGuess(UNKNOWN, 0.0)).label != "falling":
                guesses[track_id] = ActionGuess("fighting", confidence)
        if verdict.region is None:
            return None
        x1, y1, x2, y2 = (round(float(v), 1) for v in verdict.region)
        t = frame.ts_capture
        return PersonAction(track_id=f"{frame.camera}/fight", box=[x1, y1, x2, y2], action="fighting",
                            confidence=round(verdict.probability, 3),
                            window=[round(t - self.fight.config.window_s, 3), round(t, 3)], kind=TEMPORAL)

    def new_camera(self, camera: str) -> CameraState:
        c = self.config.tracker
        state = CameraState(BodyTracker(camera, c.min_hits, c.max_misses, c.min_iou, c.max_shift),
                            fight=self.fight.camera() if self.fight is not None else None)
        pose = self.config.pose
        if pose.motion_min_area is not None:
            state.gate = MotionGate(pose.motion_min_area, pose.motion_idle_s)
        return state


def _person(person: PersonPose, track_id: str, guess: ActionGuess, span: tuple[float, float], width: int,
            height: int) -> PersonAction:
    x1, y1, x2, y2 = (float(v) for v in person.box)
    box = [round(min(max(x1, 0.0), width), 1), round(min(max(y1, 0.0), height), 1),
           round(min(max(x2, 0.0), width), 1), round(min(max(y2, 0.0), height), 1)]
    keypoints = [[round(float(x), 1), round(float(y), 1), round(float(min(max(s, 0.0), 1.0)), 3)]
                 for x, y, s in person.keypoints]
    t_start, t_end = span
    return PersonAction(track_id=track_id, box=box, action=guess.label,
                        confidence=round(float(min(max(guess.confidence, 0.0), 1.0)), 3),
                        window=[round(t_start, 3), round(t_end, 3)], keypoints=keypoints, kind=guess.kind)


def build_stage(config: Config, action: ActionConfig | None = None) -> ActionStage:
    """The action stage with its pose model from the verified cache, its classifier (the
    trained model at ``action.model_path``, else the rules) and the fight model.

    ``action`` replaces ``config.action``."""
    section, models = action or config.action, config.models
    estimator = make_pose_estimator(section.pose, Path(models.cache_dir).expanduser(), models.fetch_on_demand)
    return ActionStage(section, estimator, make_classifier(section), fight=FightDetector.from_config(section.fight))
