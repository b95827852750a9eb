"""The scaffolding of a stage that follows each camera over time (tracks, windows): its
per-camera state, the replay cache, and dropping the state when partitions move."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from prometheus_client import Gauge

from schemas import FrameMsg

REMEMBERED_OUTPUTS = 64


class CameraStateLike(Protocol):
    outputs: OrderedDict
    """The last outputs by frame id (see ``PerCameraStage.answer_once``)."""


StateT = TypeVar("StateT", bound=CameraStateLike)
OutT = TypeVar("OutT")


class PerCameraStage(Generic[StateT, OutT]):
    """Subclasses give ``new_camera`` and call ``answer_once`` per frame.

    ``camera_gauge``: a gauge labelled by camera alone whose series go with the camera's state."""

    camera_gauge: Gauge | None = None

    def __init__(self) -> None:
        self.cameras: dict[str, StateT] = {}

    def new_camera(self, camera: str) -> StateT:
        raise NotImplementedError

    def _camera(self, camera: str) -> StateT:
        state = self.cameras.get(camera)
        if state is None:
            state = self.cameras[camera] = self.new_camera(camera)
        return state

    def answer_once(self, frame: FrameMsg, answer: Callable[[StateT], OutT]) -> OutT:
        """``answer(state)``, or the answer already given to this frame: when the runtime retries a
        failed batch one message at a time, frames already tracked get the same answer instead of
        being tracked twice."""
        state = self._camera(frame.camera)
        remembered = state.outputs.get(frame.id)
        if remembered is not None:
            return remembered
        output = answer(state)
        state.outputs[frame.id] = output
        if len(state.outputs) > REMEMBERED_OUTPUTS:
            state.outputs.popitem(last=False)
        return output

    def revoke(self, partitions: list[tuple[str, int]]) -> None:
        """Drop every camera's state: which cameras the moved partitions held is unknown here.
        The next owner of a camera's partition starts fresh tracks with new ids."""
        if self.camera_gauge is not None:
            for camera in self.cameras:
                try:
                    self.camera_gauge.remove(camera)
                except KeyError:
                    pass
        self.cameras.clear()
