"""The console's parts that need no server: password hashing and sessions, clustering scores,
and the camera tile drawn from the latest frame and its marks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from schemas import ActionsMsg, EmotionsMsg, Face, FaceEmotion, FacesMsg, FrameMsg, Identity, PersonAction
from vidsentry.config.console import ConsoleConfig
from vidsentry.console.auth import LOGIN_FORM_TTL_S, Sessions, TooManyAttempts, hash_password, verify_password
from vidsentry.console.clusters import cluster_online, score_clusters, track_distance
from vidsentry.console.live import LiveView


def test_hash_is_salted_and_verifies():
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second and "s3cret" not in first
    assert verify_password("s3cret", first) and not verify_password("s3cret!", first)
    assert not verify_password("s3cret", "plain$text") and not verify_password("s3cret", "nonsense")
    with pytest.raises(ValueError):
        hash_password("")


def test_sessions_expire_on_the_injected_clock():
    now = [1000.0]
    sessions = Sessions(hash_password("pw"), ttl_s=60, clock=lambda: now[0])
    assert sessions.login("wrong") is None
    session = sessions.login("pw")
    assert sessions.get(session.token) is session and sessions.get("forged") is None
    assert Sessions.csrf_ok(session, session.csrf) and not Sessions.csrf_ok(session, "") and not Sessions.csrf_ok(session, None)
    now[0] += 61
    assert sessions.get(session.token) is None


def test_login_form_token_is_double_submitted_signed_and_expires():
    now = [1000.0]
    sessions = Sessions(hash_password("pw"), ttl_s=60, clock=lambda: now[0])
    token = sessions.login_token()
    assert sessions.login_token_ok(token, token)
    assert not sessions.login_token_ok(token, None) and not sessions.login_token_ok(None, token)
    assert not sessions.login_token_ok(token, sessions.login_token()), "the field must equal the cookie"
    nonce, issued, signature = token.split(".")
    forged = f"{nonce}.{issued}.{'0' * len(signature)}"
    assert not sessions.login_token_ok(forged, forged)
    other = Sessions(hash_password("pw"), ttl_s=60, clock=lambda: now[0]).login_token()
    assert not sessions.login_token_ok(other, other), "signed by another process's key"
    now[0] += LOGIN_FORM_TTL_S + 1
    assert not sessions.login_token_ok(token, token)


def test_repeated_wrong_passwords_lock_that_address_out_for_a_while():
    now = [0.0]
    sessions = Sessions(hash_password("pw"), ttl_s=60, clock=lambda: now[0], max_failures=3, lockout_s=100)
    for _ in range(3):
        assert sessions.login("guess", "10.0.0.9") is None
    with pytest.raises(TooManyAttempts, match="try again in 100 s"):
        sessions.login("pw", "10.0.0.9")
    assert sessions.login("pw", "10.0.0.8") is not None, "other addresses are not locked out"
    now[0] = 100.0
    assert sessions.login("pw", "10.0.0.9") is not None


def test_config_takes_a_password_or_a_hash_not_both():
    ConsoleConfig(password_hash=hash_password("pw"))
    with pytest.raises(ValueError, match="not both"):
        ConsoleConfig(password="pw", password_hash=hash_password("pw"))
    with pytest.raises(ValueError):
        ConsoleConfig(password_hash="md5$abc")
    assert "pw" not in repr(ConsoleConfig(password="pw"))


def test_online_clusters_and_their_scores():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 128)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    tracks, truth = [], []
    for person in (0, 1, 0, 2, 1, 0):
        tracks.append(centres[person] + rng.normal(scale=0.01, size=(2, 128)).astype(np.float32))
        truth.append(f"p{person}")
    labels = cluster_online(tracks, threshold=0.4)
    assert labels == [0, 1, 0, 2, 1, 0]
    scores = score_clusters(labels, truth)
    assert (scores.purity, scores.completeness, scores.clusters, scores.singletons) == (1.0, 1.0, 3, 1)
    merged = score_clusters([0] * 6, truth)
    assert merged.purity == 0.5 and merged.completeness == 1.0
    split = score_clusters(list(range(6)), truth)
    assert split.purity == 1.0 and split.completeness == 0.5
    assert track_distance(tracks[0], tracks[0]) == 0.0


def test_tile_is_the_newest_frame_whose_faces_are_known():
    clock = [0.0]
    live = LiveView(stale_after_s=5, clock=lambda: clock[0])
    image = np.full((120, 160, 3), 90, np.uint8)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    frames = [FrameMsg("door", seq, 100.0 + seq / 10, 160, 120, jpeg) for seq in range(3)]
    face = Face("f1", [20, 20, 60, 70], 0.9, Identity("known", "p1", "Ann"))
    live.process(frames + [FacesMsg("door", 1, 100.1, 160, 120, [face]),
                           EmotionsMsg("door", 1, 100.1, [FaceEmotion("f1", [0, 0, 0, 1, 0, 0, 0], "happy")]),
                           ActionsMsg("door", 1, 100.1, 160, 120, [PersonAction("b1", [10, 10, 100, 115], "walking", 0.8)])])
    [state] = live.state()
    assert (state["camera"], state["state"], state["frames"], state["seq"], state["fps"]) == ("door", "up", 3, 1, 10.0)
    seq, tile = live.tile("door")
    drawn = cv2.imdecode(np.frombuffer(tile, np.uint8), cv2.IMREAD_COLOR)
    assert seq == 1 and drawn.shape == image.shape
    assert np.abs(drawn.astype(int) - 90).max() > 60, "boxes and labels are drawn on the frame"
    assert live.tile("nowhere") is None
    clock[0] = 10.0
    assert live.state()[0]["state"] == "stalled"
