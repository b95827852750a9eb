"""The action stage: ``frames`` -> ``actions``, one ActionsMsg per frame.

Per frame: find every person's pose, join people to the camera's body tracks, add each
person's keypoints to their track's window, then label every confirmed track from the
windows of all the camera's tracks (fighting is a relation between tracks). Only people
seen in this frame with a confirmed track are reported. Pose runs at most
``action.pose.max_fps`` times a second per camera, and not on live frames that arrive more
than ``action.pose.max_lag_s`` late (a worker that fell behind catches up); such a frame is
answered with the people of the camera's last pose pass (it is still decoded: an
unreadable frame is dead-lettered, never answered).

State is per camera (tracks, windows, last labels, last outputs) and is dropped on
revoke: the next owner of a camera's partition starts fresh tracks with new ids.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schemas import ActionsMsg, FrameMsg, PersonAction
from vidsentry.config.action import ActionConfig
from vidsentry.config.models import Config
from workers.action.classifier import UNKNOWN, ActionClassifier, ActionGuess, make_classifier
from workers.action.fight import CameraFight, FightDetector
from workers.action.keypoints import TrackWindow
from workers.action.metrics import ACTIONS, CLASSIFY_SECONDS, FRAMES_WITHOUT_POSE, PEOPLE_FOUND, PERSONS_TRACKED, POSE_SECONDS
from workers.action.pose import PersonPose, PoseEstimator
from workers.action.pose_factory import make_pose_estimator
from workers.action.tracker import BodyTrack, BodyTracker
from workers.frames import decode_frame

log = logging.getLogger(__name__)

_REMEMBERED_OUTPUTS = 64


@dataclass
class CameraState:
    tracker: BodyTracker
    windows: dict[str, TrackWindow] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    outputs: OrderedDict[str, ActionsMsg] = field(default_factory=OrderedDict)
    """The last outputs by frame id: when the runtime retries a failed batch one message at
    a time, frames already tracked get the same answer instead of being tracked twice."""
    last_pass: ActionsMsg | None = None
    """The output of the last frame pose ran on."""
    fight: CameraFight | None = None
    """Motion and group sizes for the fight model (None when it is off)."""


class ActionStage:
    name = "action"

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
        self.cameras: dict[str, CameraState] = {}

    def process(self, batch: list[FrameMsg]) -> list[ActionsMsg]:
        return [self._answer(frame) for frame in batch]

    def revoke(self, partitions: list[tuple[str, int]]) -> None:
        """Drop every camera's tracks: which cameras the moved partitions held is unknown here."""
        for camera in self.cameras:
            try:
                PERSONS_TRACKED.remove(camera)
            except KeyError:
                pass
        self.cameras.clear()

    def _answer(self, frame: FrameMsg) -> ActionsMsg:
        state = self._camera(frame.camera)
        remembered = state.outputs.get(frame.id)
        if remembered is not None:
            return remembered
        rgb = decode_frame(frame, self.config.max_frame_pixels)
        if state.fight is not None and not getattr(frame, "still", False):
            state.fight.motion.add(frame.ts_capture, rgb)  # a photo has no motion: no flow across it
        skip = self._skip_reason(state, frame)
        if skip:
            last = state.last_pass
            output = ActionsMsg(frame.camera, frame.seq, frame.ts_capture, last.width, last.height, last.persons)
            FRAMES_WITHOUT_POSE.labels(frame.camera, skip).inc()
        else:
            output = self._pose_pass(state, frame, rgb)
            state.last_pass = output
        state.outputs[frame.id] = output
        if len(state.outputs) > _REMEMBERED_OUTPUTS:
            state.outputs.popitem(last=False)
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
            if state.labels.get(track.track_id) != guess.label:
                state.labels[track.track_id] = guess.label
                ACTIONS.labels(frame.camera, guess.label).inc()
            persons.append(_person(person, track.track_id, guess, state.windows[track.track_id], width, height))
        PERSONS_TRACKED.labels(frame.camera).set(len(persons))
        if region is not None:
            persons.append(region)
        return ActionsMsg(frame.camera, frame.seq, frame.ts_capture, width, height, persons)

    def _estimate(self, camera: str, rgb: np.ndarray) -> list[PersonPose]:
        started = time.perf_counter()
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
                            window=[round(t - self.fight.config.window_s, 3), round(t, 3)])

    def _camera(self, camera: str) -> CameraState:
        state = self.cameras.get(camera)
        if state is None:
            c = self.config.tracker
            state = CameraState(BodyTracker(camera, c.min_hits, c.max_misses, c.min_iou, c.max_shift),
                                fight=self.fight.camera() if self.fight is not None else None)
            self.cameras[camera] = state
        return state


def _person(person: PersonPose, track_id: str, guess: ActionGuess, window: TrackWindow, width: int,
            height: int) -> PersonAction:
    x1, y1, x2, y2 = (float(v) for v in person.box)
    box = [round(min(max(x1, 0.0), width), 1), round(min(max(y1, 0.0), height), 1),
           round(min(max(x2, 0.0), width), 1), round(min(max(y2, 0.0), height), 1)]
    keypoints = [[round(float(x), 1), round(float(y), 1), round(float(min(max(s, 0.0), 1.0)), 3)]
                 for x, y, s in person.keypoints]
    t_start, t_end = window.span
    return PersonAction(track_id=track_id, box=box, action=guess.label,
                        confidence=round(float(min(max(guess.confidence, 0.0), 1.0)), 3),
                        window=[round(t_start, 3), round(t_end, 3)], keypoints=keypoints)


def build_stage(config: ActionConfig, cache_root: Path, fetch_on_demand: bool = True) -> ActionStage:
    """The action stage with its pose model from the verified cache, its classifier (the
    trained model at ``config.model_path``, else the rules) and the fight model."""
    estimator = make_pose_estimator(config.pose, Path(cache_root).expanduser(), fetch_on_demand)
    return ActionStage(config, estimator, make_classifier(config), fight=FightDetector.from_config(config.fight))


def serve(config: Config) -> None:
    """Run an action worker as a process, configured by the ``action`` section."""
    from schemas.topics import FRAMES
    from vidsentry.role import serve_stage

    stage = build_stage(config.action, config.models.cache_dir, config.models.fetch_on_demand)
    serve_stage(stage, config, [FRAMES], expect=FrameMsg)
