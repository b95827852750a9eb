"""The operator console (``vidsentry console``, ``vidsentry run --console``): off unless
configured, on loopback unless told otherwise, behind a password kept only as a hash."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from vidsentry.config.secrets import SecretSection


class ConsoleConfig(SecretSection):
    enabled: bool = Field(False, description="Serve the console. Off unless set (or `vidsentry console` / `run --console` is used).")
    host: str = Field("127.0.0.1", description="Address the console binds; loopback unless you put a TLS proxy in front of it.")
    port: int = Field(8480, ge=0, le=65535, description="Console port (0: any free port).")
    password: SecretStr | None = Field(
        None, description="Login password or token; hashed (scrypt) when the config is loaded and never kept in clear. "
                          "Or password_file (a Docker/Kubernetes secret), or password_hash.")
    password_hash: str | None = Field(
        None, pattern=r"^scrypt\$[0-9a-f]{32}\$[0-9a-f]{128}$",
        description="scrypt$<salt hex>$<hash hex>, as `vidsentry console hash-password` prints it: the config then holds no password at all.")
    session_ttl_s: int = Field(12 * 3600, ge=60, le=30 * 86400, description="A login lasts this long.")
    secure_cookie: bool = Field(False, description="Mark the session cookie Secure (set it when the console is reached over HTTPS).")
    group: str = Field("console", pattern=r"^[A-Za-z0-9._-]+$",
                       description="Consumer group of the console on the bus topics and on the Redis alerts stream (alerts it acks leave this group's pending list).")
    camera_fps: float = Field(2.0, gt=0, le=30, description="Most updates per second of each camera's tile.")
    unknown_ttl_s: int = Field(7 * 86400, ge=3600, le=365 * 86400,
                               description="Embeddings and the face crop of each unknown track are kept this long after its last sighting.")
    cluster_threshold: float = Field(0.40, gt=0, le=2.0,
                                     description="Largest embedding distance between a new unknown track and a cluster's closest "
                                                 "track that joins it. 0.40: on AT&T/ORL no cluster mixed two people (purity 1.0) "
                                                 "and tracks of 3 faces kept 99.5% of a person in one cluster; 0.48 and up mixed "
                                                 "people (EVALUATION.md, 'Unknown people: clusters').")
    embeddings_per_track: int = Field(3, ge=1, le=20, description="Most face embeddings kept for one unknown track.")
    search_path: Path = Field(Path("~/.local/share/vidsentry/console-search.sqlite3"),
                              description="SQLite file of the console's event search, fed by the events topic (group <group>-search).")
    search_retention_s: int = Field(30 * 86400, ge=3600, le=3650 * 86400,
                                    description="Events are searchable this long (capture time); older ones are deleted as new ones arrive.")

    @model_validator(mode="after")
    def _one_password(self) -> ConsoleConfig:
        if self.password is not None and self.password_hash is not None:
            raise ValueError("give password or password_hash, not both")
        return self
