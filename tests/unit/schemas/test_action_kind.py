"""Schema 1.3: a person's action says how it was judged (``kind``: posture or temporal);
actions messages of 1.2 and before, without it, still read (kind None)."""

import json
import struct

import pytest

from schemas import ActionsMsg, PersonAction, SchemaError, decode, encode
from schemas.codec import SCHEMA_VERSION


def message(kind) -> ActionsMsg:
    return ActionsMsg("cam-1", 7, 1.5, 640, 480, [
        PersonAction("cam-1/a/1", [1.0, 2.0, 30.0, 90.0], "sitting", 0.8, [1.5, 1.5], kind=kind)])


def rewrite(data: bytes, mutate) -> bytes:
    magic, framing, reserved, length = struct.unpack_from(">2sBBI", data)
    header = json.loads(data[8:8 + length])
    mutate(header)
    new = json.dumps(header).encode()
    return struct.pack(">2sBBI", magic, framing, reserved, len(new)) + new + data[8 + length:]


def test_the_kind_travels():
    assert SCHEMA_VERSION == "1.3"
    assert decode(encode(message("posture"))).persons[0].kind == "posture"
    assert decode(encode(message("temporal"))).persons[0].kind == "temporal"


def test_a_1_2_message_without_kind_still_reads():
    older = rewrite(encode(message("posture")), lambda h: (h["persons"][0].pop("kind"), h.update(v="1.2")))
    (person,) = decode(older).persons
    assert person.kind is None and person.action == "sitting"


@pytest.mark.parametrize("bad", ["", 3])
def test_a_kind_that_is_not_a_name_is_refused(bad):
    data = rewrite(encode(message("posture")), lambda h: h["persons"][0].update(kind=bad))
    with pytest.raises(SchemaError, match="kind"):
        decode(data)
