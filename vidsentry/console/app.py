"""The console as one object: its Redis-backed parts (alerts, people, unknown people, the
gallery), its consumer groups on the bus (attached to Kafka by `vidsentry console`, or to
the in-memory bus of `vidsentry run --console`), a ticker pushing camera and people
updates, and the HTTP server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from aggregator.redis_store import RedisStore
from schemas.topics import ACTIONS, EMOTIONS, EVENTS, FACES, FRAMES
from vidsentry.bus import Bus
from vidsentry.camera_state import CameraStateError, RedisCameraStates, StaleBeats
from vidsentry.config import Config
from vidsentry.config.console import ConsoleConfig
from vidsentry.console.alerts import AlertFeed, Fanout
from vidsentry.console.auth import Sessions, hash_password
from vidsentry.console.cameras import camera_rows
from vidsentry.console.erasure import Erased, erase_cluster
from vidsentry.console.live import LiveView
from vidsentry.console.people import people_in_view
from vidsentry.console.person import person_view
from vidsentry.console.search import SearchIndexer, SearchQuery, SearchStore
from vidsentry.console.server import ConsoleServer, serve_in_thread
from vidsentry.console.unknowns import UnknownCollector, UnknownStore, track_key
from vidsentry.runtime import StageRunner
from workers.face.embedder import FaceEmbedder
from workers.face.gallery import Gallery

log = logging.getLogger(__name__)


class ConsoleError(RuntimeError):
    """The console cannot start as configured (no password, no Redis...)."""


def password_hash(config: ConsoleConfig) -> str:
    """The stored hash; a configured clear password is hashed here and not kept by the console."""
    if config.password_hash:
        return config.password_hash
    if config.password is None:
        raise ConsoleError("the console needs a login: set console.password (VIDSENTRY_CONSOLE__PASSWORD or "
                           "console.password_file) or console.password_hash (`vidsentry console --hash-password`)")
    return hash_password(config.password.get_secret_value())


class Console:
    def __init__(self, config: Config, client: redis.Redis, gallery: Callable[[], Gallery],
                 embedder: Callable[[], FaceEmbedder], clock: Callable[[], float] = time.time) -> None:
        self.settings = config
        self.config = config.console
        self.prefix = config.aggregator.redis_prefix
        self.sessions = Sessions(password_hash(self.config), self.config.session_ttl_s, clock)
        self.r = client
        self.clock = clock
        self.fanout = Fanout()
        self.alerts = AlertFeed(client, self.prefix, self.config.group, self.fanout)
        self.store = RedisStore(client, self.prefix)
        self.unknowns = UnknownStore(client, self.prefix, self.config.unknown_ttl_s, self.config.cluster_threshold, clock)
        self.live = LiveView()
        self.camera_states = RedisCameraStates(client, self.prefix)
        self.beats = StaleBeats()
        self._states_failing = False
        self.search_store = SearchStore(self.config.search_path, self.config.search_retention_s, clock)
        self._gallery_factory = gallery
        self._gallery: Gallery | None = None
        self._embedder_factory = embedder
        self._embedder: FaceEmbedder | None = None
        self.stopping = threading.Event()
        self._runners: list[tuple[StageRunner, threading.Thread]] = []
        self._server: ConsoleServer | None = None
        self._threads: list[threading.Thread] = []

    def gallery(self) -> Gallery:
        if self._gallery is None:
            self._gallery = self._gallery_factory()
        return self._gallery

    def cameras(self) -> list[dict]:
        """The camera grid: each camera's tile and frames from the bus, its state, fps and drops from its producer."""
        try:
            records, known = self.camera_states.read()
            self._states_failing = False
        except CameraStateError as exc:
            if not self._states_failing:
                log.warning("console: camera states unavailable (%s); showing what the frames tell", exc)
            self._states_failing = True
            records, known = {}, set()
        return camera_rows(self.live.state(), records, known, self.beats.stale)

    def people(self) -> list[dict]:
        return people_in_view(self.store, clock=self.clock, cluster_of=self.unknowns.cluster_of)

    def search(self, query: SearchQuery) -> list[dict]:
        """Past events, each with the face crop kept for its person's face track on that camera (``snapshot``, None when none is kept)."""
        rows = self.search_store.search(query)
        keys = {(r["camera"], t) for r in rows for t in r["face_tracks"]}
        kept = self.unknowns.with_crop([track_key(c, t) for c, t in keys])
        for row in rows:
            row["snapshot"] = next((k for k in (track_key(row["camera"], t) for t in reversed(row["face_tracks"])) if k in kept), None)
        return rows

    def erase(self, cluster: str) -> Erased:
        """Data subject erasure of an unknown-people cluster (erasure.py)."""
        return erase_cluster(cluster, self.unknowns, self.search_store, self.alerts)

    def person(self, person_id: str) -> dict:
        return person_view(person_id, self.search_store.person(person_id))

    def initial_events(self) -> list[tuple[str, object]]:
        return [("cameras", self.cameras()), ("people", self.people())]

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, host: str | None = None, port: int | None = None) -> Console:
        self.alerts.start()
        self._server = ConsoleServer(self, host or self.config.host, self.config.port if port is None else port)
        self._threads = [serve_in_thread(self._server),
                         threading.Thread(target=self._tick, name="console-ticker", daemon=True)]
        self._threads[-1].start()
        log.info("console at %s", self.url)
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def attach(self, bus: Bus) -> None:
        """Become consumer groups on ``bus``: the camera tiles, and the unknown faces' embeddings."""
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        runtime = self.settings.runtime
        stages = [(self.live, [FRAMES, FACES, EMOTIONS, ACTIONS], f"{self.config.group}-live"),
                  (UnknownCollector(self.unknowns, self._embedder, self.config.embeddings_per_track), [FACES],
                   f"{self.config.group}-unknowns"),
                  (SearchIndexer(self.search_store), [EVENTS], f"{self.config.group}-search")]
        for stage, topics, group in stages:
            runner = StageRunner(stage, bus, topics, runtime, group=group).start()
            thread = threading.Thread(target=runner.run, name=f"stage-{stage.name}", daemon=True)
            thread.start()
            self._runners.append((runner, thread))

    def caught_up(self) -> bool:
        """Every console consumer has taken all that is on its topics (for the end of an embedded run)."""
        return all(not r.in_batch and not sum(r._subscriber.lag().values()) for r, _ in self._runners if r._subscriber)

    def detach(self) -> None:
        for runner, _ in self._runners:
            runner.stop_event.set()
        for _, thread in self._runners:
            thread.join(timeout=30)
        self._runners = []

    def stop(self) -> None:
        self.stopping.set()
        self.detach()
        self.alerts.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.search_store.close()

    def _tick(self) -> None:
        """Camera tiles at ``camera_fps`` (only when a camera has a new frame), people once a second."""
        last_cameras, last_people = None, 0.0
        while not self.stopping.wait(1.0 / self.config.camera_fps):
            cameras = self.cameras()
            if cameras != last_cameras:
                self.fanout.publish("cameras", cameras)
                last_cameras = cameras
            if time.monotonic() - last_people >= 1.0:
                try:
                    self.fanout.publish("people", self.people())
                except redis.RedisError as exc:
                    log.warning("console: people: %s", exc)
                last_people = time.monotonic()


def build_console(config: Config) -> Console:
    """The console on the configured Redis, gallery and face embedder."""
    from vidsentry.redis_client import check_redis_access, redis_client
    from workers.face.embedder import load_embedder
    from workers.face.gallery import open_gallery

    if not config.redis.url:
        raise ConsoleError("the console needs Redis: set redis.url (VIDSENTRY_REDIS__URL), or give --redis to `vidsentry run`")
    client = redis_client(config.redis, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)
    if not check_redis_access(client, config.redis):
        raise ConsoleError("cannot reach Redis at the configured redis.url")
    return Console(config, client, lambda: open_gallery(config.face, config.redis),
                   lambda: load_embedder(config.models.cache_dir, config.models.fetch_on_demand))
