import json
import struct

import cv2
import numpy as np
import pytest

from schemas import (
    EMOTION_LABELS,
    ActionsMsg,
    DeadLetterMsg,
    EmotionsMsg,
    EventMsg,
    Face,
    FaceEmotion,
    FaceQuality,
    FacesMsg,
    FrameMsg,
    Identity,
    PersonAction,
    SchemaError,
    UnknownVersionError,
    decode,
    encode,
)
from schemas.codec import schema_path


def jpeg(width: int = 64, height: int = 48) -> bytes:
    """A generated gradient image, JPEG-encoded (synthetic: only the bytes matter here)."""
    image = np.add.outer(np.arange(height), np.arange(width)).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.merge([image, image, image]))
    assert ok
    return buf.tobytes()


def every_kind() -> list:
    crop = jpeg(32, 32)
    return [
        FrameMsg("cam-1", 7, 1700000000.25, 64, 48, jpeg()),
        FacesMsg("cam-1", 7, 1700000000.25, 64, 48, [
            Face("f1", [1.0, 2.0, 30.0, 40.0], 0.93, Identity("known", "p-ann", "Ann", 0.31), [[10.0, 12.0], [20.0, 12.5]],
                 FaceQuality(28.0, 143.2), crop),
            Face("f2", [40.0, 2.0, 60.0, 30.0], 0.7, Identity("pending")),
            Face("f3", [40.0, 2.0, 60.0, 30.0], 0.8, Identity("pending", reason="face is blurred (sharpness 12 < 40)")),
        ]),
        EmotionsMsg("cam-1", 7, 1700000000.25, [FaceEmotion("f1", [0.1, 0, 0, 0.7, 0.1, 0, 0.1], "happy", "p-ann", FaceQuality(28.0, 143.2))]),
        ActionsMsg("cam-1", 7, 1700000000.25, 64, 48, [PersonAction("b1", [0, 0, 20, 40], "walking", 0.8, [1699999999.0, 1700000000.25], [[0.5, 0.1, 0.9]])]),
        EventMsg("p-ann:cam-1:7", "p-ann", "cam-1", 1700000000.3, {"name": "Ann", "emotion": "happy", "action": "walking"}),
        DeadLetterMsg("face", "frames", 2, 1234, "SchemaError", "frame: truncated", 1700000001.0, b"\x00garbage", "cam-1"),
    ]


@pytest.mark.parametrize("message", every_kind(), ids=lambda m: m.KIND)
def test_round_trip_is_identical(message):
    data = encode(message)
    assert decode(data) == message
    assert encode(decode(data)) == data


def test_binary_payload_is_not_base64_inflated():
    frame = FrameMsg("cam-1", 1, 1.0, 64, 48, jpeg(640, 480))
    overhead = len(encode(frame)) - len(frame.jpeg)
    assert 0 < overhead < 300
    assert frame.jpeg in encode(frame)


def test_every_kind_has_a_schema_file():
    for message in every_kind():
        schema = json.loads(schema_path(message.KIND).read_text())
        assert schema["properties"]["kind"]["const"] == message.KIND


def test_message_ids_are_stable():
    assert FrameMsg("cam-1", 7, 1.0, 2, 2, b"x").id == "cam-1:7:frame"
    assert EmotionsMsg("cam-1", 7, 1.0, []).id == "cam-1:7:emotions"


def test_decode_checks_the_expected_kind():
    data = encode(every_kind()[0])
    assert isinstance(decode(data, expect=FrameMsg), FrameMsg)
    with pytest.raises(SchemaError, match="expected a faces message, got frame"):
        decode(data, expect=FacesMsg)


def _with_header(data: bytes, mutate) -> bytes:
    magic, framing, reserved, length = struct.unpack_from(">2sBBI", data)
    header = json.loads(data[8:8 + length])
    mutate(header)
    new = json.dumps(header).encode()
    return struct.pack(">2sBBI", magic, framing, reserved, len(new)) + new + data[8 + length:]


def test_unknown_major_version_is_a_typed_error():
    data = _with_header(encode(every_kind()[0]), lambda h: h.update(v="2.0"))
    with pytest.raises(UnknownVersionError, match="2.0 is not supported"):
        decode(data)


def test_a_still_frame_and_a_pending_reason_travel_and_older_messages_read_without_them():
    still = FrameMsg("cam-1", 3, 1.0, 64, 48, jpeg(), still=True)
    assert decode(encode(still)).still is True
    older = _with_header(encode(FrameMsg("cam-1", 3, 1.0, 64, 48, jpeg())), lambda h: (h.pop("still"), h.update(v="1.1")))
    assert decode(older).still is False
    faces = every_kind()[1]
    assert decode(encode(faces)).faces[2].identity.reason == "face is blurred (sharpness 12 < 40)"
    without = _with_header(encode(faces), lambda h: [f["identity"].pop("reason") for f in h["faces"]])
    assert [f.identity.reason for f in decode(without).faces] == [None, None, None]


def test_newer_minor_version_with_extra_fields_is_accepted():
    data = _with_header(encode(every_kind()[0]), lambda h: h.update(v="1.4", lens="wide"))
    assert decode(data) == every_kind()[0]


@pytest.mark.parametrize("mutate, reason", [
    (lambda h: h.pop("camera"), "camera"),
    (lambda h: h.update(seq=-1), "seq"),
    (lambda h: h.update(width="wide"), "width"),
    (lambda h: h.update(kind="selfie"), "unknown message kind"),
    (lambda h: h.update(jpeg={"$blob": 5}), "attachment 5 does not exist"),
])
def test_schema_violations_name_the_problem(mutate, reason):
    data = _with_header(encode(every_kind()[0]), mutate)
    with pytest.raises(SchemaError, match=reason):
        decode(data)


def test_nested_violation_is_rejected():
    faces = every_kind()[1]
    data = _with_header(encode(faces), lambda h: h["faces"][0]["identity"].update(status="maybe"))
    with pytest.raises(SchemaError, match="identity"):
        decode(data)


@pytest.mark.parametrize("data, reason", [
    (b"", "truncated"),
    (b"hello world, not ours", "not a vidsentry message"),
    (b"VS\x09\x00\x00\x00\x00\x02{}", "framing version"),
    (b"VS\x01\x00\x00\x00\x00\xff{}", "truncated header"),
    (b"VS\x01\x00\x00\x00\x00\x03{x}", "not JSON"),
    (b"VS\x01\x00\x00\x00\x00\x02[]", "not a JSON object"),
])
def test_garbage_is_rejected_not_crashed(data, reason):
    with pytest.raises(SchemaError, match=reason):
        decode(data)


def test_truncated_attachment_and_trailing_bytes_are_rejected():
    data = encode(every_kind()[0])
    with pytest.raises(SchemaError, match="truncated attachment"):
        decode(data[:-10])
    with pytest.raises(SchemaError, match="trailing bytes"):
        decode(data + b"xx")


def test_random_bytes_never_escape_as_another_exception():
    rng = np.random.default_rng(0)
    valid = encode(every_kind()[1])
    for _ in range(500):
        data = bytearray(valid)
        for i in rng.integers(0, len(data), size=3):
            data[i] = int(rng.integers(0, 256))
        try:
            decode(bytes(data))
        except SchemaError:
            pass


def test_encode_refuses_an_invalid_message():
    bad = EmotionsMsg("cam-1", 1, 1.0, [FaceEmotion("f1", [1.5] * len(EMOTION_LABELS), "happy")])
    with pytest.raises(SchemaError, match="probs"):
        encode(bad)
