"""Kafka security: kafka-python's arguments for the ``bus.kafka`` SASL/SSL settings, and a probe
that turns a refused login or TLS handshake into a ``BusError`` naming the setting to check.

The probe exists because kafka-python reports neither: a producer or consumer with a wrong
password is created fine, then retries its login quietly for ever.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

from kafka.conn import BrokerConnection, get_ip_port_afi
from kafka.errors import (
    IllegalSaslStateError,
    InvalidReceiveError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailedError,
    UnsupportedSaslMechanismError,
)
from kafka.protocol.metadata import MetadataRequest

from vidsentry.bus.base import BusError
from vidsentry.config.models import KafkaConfig

TLS_PROTOCOLS = ("SSL", "SASL_SSL")


class KafkaAccessRefused(BusError):
    """A broker refused the login or the TLS handshake, or speaks another security protocol:
    retrying cannot help, the settings must change."""


def security_options(config: KafkaConfig) -> dict[str, Any]:
    """The same for every client (producer, consumer, admin)."""
    options: dict[str, Any] = {"security_protocol": config.security_protocol}
    if config.security_protocol.startswith("SASL_"):
        options.update(sasl_mechanism=config.sasl_mechanism, sasl_plain_username=config.sasl_username,
                       sasl_plain_password=config.sasl_password.get_secret_value() if config.sasl_password else None)
    if config.security_protocol in TLS_PROTOCOLS:
        options["ssl_context"] = ssl_context(config)
    return options


def ssl_context(config: KafkaConfig) -> ssl.SSLContext:
    """What kafka-python would build from the ssl_* settings, plus the TLS version cap
    (``bus.kafka.ssl_max_version``): kafka-python 2.3 drops a TLS 1.3 connection when the
    broker's post-handshake session ticket arrives while no request is in flight
    (dpkp/kafka-python#2369), which makes clients fail at random."""
    context = ssl.create_default_context(cafile=str(config.ssl_cafile) if config.ssl_cafile else None)
    context.check_hostname = config.ssl_check_hostname
    context.maximum_version = ssl.TLSVersion[config.ssl_max_version.replace(".", "_")]
    if config.ssl_certfile and config.ssl_keyfile:
        try:
            # never password=None: OpenSSL would prompt on the terminal for an encrypted key's password
            context.load_cert_chain(str(config.ssl_certfile), str(config.ssl_keyfile),
                                    password=config.ssl_password.get_secret_value() if config.ssl_password else "")
        except ssl.SSLError as exc:
            raise KafkaAccessRefused(
                f"cannot load the client certificate {config.ssl_certfile} with key {config.ssl_keyfile} "
                f"({exc.reason or exc}): check bus.kafka.ssl_password (an encrypted key needs it) and that the key "
                f"belongs to the certificate") from None
    return context


class _Probe(BrokerConnection):
    failure: Exception | None = None

    def close(self, error: Exception | None = None) -> None:
        if error is not None and self.failure is None:
            self.failure = error
        super().close(error)


def check_access(config: KafkaConfig, timeout_s: float = 10.0) -> bool:
    """Log in to the first broker that answers and make one metadata request (True). Raise
    ``KafkaAccessRefused`` when a broker refuses the credentials or the TLS handshake, or speaks
    another security protocol; ``BusError`` when it closes the connection on the first request
    twice (most likely it wants a login). An unreachable broker is not an error here (False):
    callers keep their own retry policy for outages."""
    options = security_options(config)
    for server in (s.strip() for s in config.bootstrap_servers.split(",") if s.strip()):
        failure = _probe(config, server, options, timeout_s)
        if isinstance(failure, _ClosedOnRequest):  # a broker shutting down does this once, one that wants a login always
            failure = _probe(config, server, options, timeout_s)
        if failure is None:
            return True
        refusal = _refusal(config, server, failure)
        if isinstance(failure, _ClosedOnRequest):
            raise BusError(refusal)
        if refusal:
            raise KafkaAccessRefused(refusal)
    return False


def _probe(config: KafkaConfig, server: str, options: dict[str, Any], timeout_s: float) -> Exception | None:
    """None when the broker took the login and answered a request; else why not."""
    host, port, afi = get_ip_port_afi(server)
    probe = _Probe(host, port, afi, client_id=f"{config.client_id}-probe", request_timeout_ms=int(timeout_s * 1000),
                   **options)
    try:
        if probe.connect_blocking(timeout_s) and _metadata_round_trip(probe, timeout_s):
            return None
        return probe.failure or KafkaConnectionError(f"no answer from {server}")
    except (ssl.SSLError, KafkaError) as exc:
        return exc
    finally:
        probe.close()


def _metadata_round_trip(probe: _Probe, timeout_s: float) -> bool:
    """A broker answers ApiVersions before any login, so only a real request shows that a
    listener which wants SASL refuses a PLAINTEXT client (it closes the connection)."""
    low, high = probe.get_api_versions().get(MetadataRequest[0].API_KEY, (0, -1))
    version = min(high, len(MetadataRequest) - 1)
    if version < low:
        return True
    future = probe.send(MetadataRequest[version]() if version >= 6 else MetadataRequest[version](topics=[]))
    deadline = time.monotonic() + timeout_s
    while not future.is_done and not probe.disconnected() and time.monotonic() < deadline:
        for response, pending in probe.recv():
            pending.success(response)
        time.sleep(0.01)
    if probe.disconnected() and probe.failure is None:
        probe.failure = KafkaConnectionError("connection closed")
    if probe.failure is not None:
        probe.failure = _ClosedOnRequest(str(probe.failure))
    return future.succeeded()


class _ClosedOnRequest(KafkaConnectionError):
    """The broker accepted the connection, then closed it on the first request."""


def _refusal(config: KafkaConfig, server: str, failure: Exception | None) -> str | None:
    where = f"Kafka at {server} (security_protocol {config.security_protocol})"
    protocol = "check bus.kafka.security_protocol: it must match the broker's listener at bootstrap_servers"
    if isinstance(failure, SaslAuthenticationFailedError):
        return (f"{where} refused the login of user {config.sasl_username!r} with {config.sasl_mechanism}: "
                f"check bus.kafka.sasl_username, sasl_password and sasl_mechanism")
    if isinstance(failure, UnsupportedSaslMechanismError):
        return f"{where} does not accept SASL mechanism {config.sasl_mechanism}: set bus.kafka.sasl_mechanism to one it enables"
    if isinstance(failure, IllegalSaslStateError):
        return f"{where}: this listener takes no SASL login; {protocol}"
    if isinstance(failure, InvalidReceiveError):
        return f"{where}: the answer is not Kafka's plain protocol (a TLS listener?); {protocol}"
    if isinstance(failure, _ClosedOnRequest):
        return f"{where}: the broker closed the connection on the first request (it wants a SASL login?); {protocol}"
    if isinstance(failure, KafkaConnectionError) and "during handshake" in str(failure):
        return f"{where}: the broker cut the TLS handshake (a listener without TLS?); {protocol}"
    if isinstance(failure, ssl.SSLCertVerificationError):
        return (f"{where}: its TLS certificate is not trusted ({failure.verify_message}): check bus.kafka.ssl_cafile "
                f"and, for a name mismatch, bus.kafka.bootstrap_servers (ssl_check_hostname)")
    if isinstance(failure, ssl.SSLError):
        return (f"{where}: TLS failed ({failure.reason or failure}): check bus.kafka.ssl_certfile, ssl_keyfile and "
                f"ssl_password (a broker that requires a client certificate refuses a missing or unknown one)")
    return None
