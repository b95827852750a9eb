"""The Kafka bus against a real broker that requires a login (SASL SCRAM/PLAIN) or mutual TLS:
right settings move records; wrong ones fail at once with a typed error that names the setting
to check and never the secret."""

from __future__ import annotations

import uuid

import pytest

from schemas.topics import FRAMES
from tests.conftest import SCRAM_PASSWORD, SCRAM_USER, kafka_config
from tests.helpers import drain
from vidsentry.bus.base import BusError
from vidsentry.bus.kafka import KafkaBus, wait_for_broker
from vidsentry.bus.kafka_security import KafkaAccessRefused
from vidsentry.config import load_config

pytestmark = pytest.mark.integration


def sasl(server, mechanism: str = "SCRAM-SHA-256", password: str = SCRAM_PASSWORD, **overrides):
    return kafka_config(server.sasl_bootstrap_servers, security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,
                        sasl_username=SCRAM_USER, sasl_password=password, **overrides)


def mutual_tls(server, tls_files, **overrides):
    settings = {"security_protocol": "SSL", "ssl_cafile": tls_files.ca, "ssl_certfile": tls_files.client_cert,
                "ssl_keyfile": tls_files.client_key, **overrides}
    return kafka_config(server.ssl_bootstrap_servers, **{k: v for k, v in settings.items() if v is not None})


def round_trip(config) -> list[bytes]:
    bus = KafkaBus(config)
    bus.create_topics([FRAMES])
    sub = bus.subscriber(f"g-{uuid.uuid4().hex[:6]}", [FRAMES])
    pub = bus.publisher()
    for i in range(3):
        pub.publish(FRAMES, "cam-1", f"frame {i}".encode())
    pub.flush(30)
    pub.close()
    try:
        (records,) = drain([sub], 3, timeout_s=60)
    finally:
        sub.close()
    return [r.value for r in records]


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
def test_records_move_with_a_sasl_login(secure_kafka_server, mechanism):
    assert round_trip(sasl(secure_kafka_server, mechanism)) == [b"frame 0", b"frame 1", b"frame 2"]


@pytest.mark.reliability(fault='a wrong SASL/SCRAM password against the real SCRAM broker',
                         happened='refused at once with one line naming the setting, not the secret (kafka-python alone retries silently for ever)',
                         lost='nothing (the role does not start)')
def test_a_wrong_password_is_refused_at_once_naming_the_setting_not_the_secret(secure_kafka_server):
    bus = KafkaBus(sasl(secure_kafka_server, password="not-the-Password-42"))
    for attempt in (lambda: bus.create_topics([FRAMES]), bus.publisher, lambda: bus.subscriber("g", [FRAMES])):
        with pytest.raises(KafkaAccessRefused) as refused:
            attempt()
        message = str(refused.value)
        assert f"refused the login of user '{SCRAM_USER}' with SCRAM-SHA-256" in message
        assert "sasl_password" in message and "not-the-Password-42" not in message


def test_an_unknown_user_is_refused(secure_kafka_server):
    config = sasl(secure_kafka_server, "SCRAM-SHA-512").model_copy(update={"sasl_username": "mallory"})
    with pytest.raises(KafkaAccessRefused, match="refused the login of user 'mallory'"):
        KafkaBus(config).create_topics([FRAMES])


def test_a_client_without_sasl_settings_is_told_to_check_the_security_protocol(secure_kafka_server):
    with pytest.raises(BusError, match="security_protocol"):
        KafkaBus(kafka_config(secure_kafka_server.sasl_bootstrap_servers)).create_topics([FRAMES])


def test_a_sasl_client_on_a_plaintext_listener_is_told_so(secure_kafka_server):
    config = sasl(secure_kafka_server).model_copy(update={"bootstrap_servers": secure_kafka_server.bootstrap_servers})
    with pytest.raises(KafkaAccessRefused, match="takes no SASL login"):
        KafkaBus(config).publisher()


def test_wait_for_broker_logs_in_and_fails_fast_on_a_refused_login(secure_kafka_server):
    wait_for_broker(secure_kafka_server.sasl_bootstrap_servers, timeout_s=60, security=sasl(secure_kafka_server))
    # KafkaAccessRefused, not the "not ready after 60s" BusError of a broker that never answered
    with pytest.raises(KafkaAccessRefused):
        wait_for_broker(secure_kafka_server.sasl_bootstrap_servers, timeout_s=60,
                        security=sasl(secure_kafka_server, password="wrong"))


def test_the_password_can_come_from_a_secret_file(secure_kafka_server, tmp_path):
    secret = tmp_path / "kafka_password"
    secret.write_text(SCRAM_PASSWORD + "\n")
    config = load_config(None, {
        "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": secure_kafka_server.sasl_bootstrap_servers,
        "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": f"test-{uuid.uuid4().hex[:8]}-",
        "VIDSENTRY_BUS__KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "VIDSENTRY_BUS__KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "VIDSENTRY_BUS__KAFKA__SASL_USERNAME": SCRAM_USER,
        "VIDSENTRY_BUS__KAFKA__SASL_PASSWORD_FILE": str(secret),
    })
    assert round_trip(config.bus.kafka.model_copy(update={"linger_ms": 0})) == [b"frame 0", b"frame 1", b"frame 2"]


def test_records_move_over_mutual_tls(secure_kafka_server, tls_files):
    assert len(round_trip(mutual_tls(secure_kafka_server, tls_files))) == 3


def test_an_encrypted_client_key_needs_its_password(secure_kafka_server, tls_files):
    good = mutual_tls(secure_kafka_server, tls_files, ssl_keyfile=tls_files.client_key_encrypted,
                      ssl_password=tls_files.key_password)
    assert len(round_trip(good)) == 3
    with pytest.raises(KafkaAccessRefused, match="ssl_password"):
        KafkaBus(good.model_copy(update={"ssl_password": None})).publisher()


@pytest.mark.reliability(fault='a broker certificate not signed by the configured CA',
                         happened='the TLS connection is refused with a clear error',
                         lost='nothing (the role does not start)')
def test_an_untrusted_broker_certificate_is_refused(secure_kafka_server, tls_files):
    with pytest.raises(KafkaAccessRefused, match="not trusted .*ssl_cafile"):
        KafkaBus(mutual_tls(secure_kafka_server, tls_files, ssl_cafile=None)).publisher()


def test_a_missing_client_certificate_is_refused_by_the_broker(secure_kafka_server, tls_files):
    config = mutual_tls(secure_kafka_server, tls_files, ssl_certfile=None, ssl_keyfile=None)
    with pytest.raises(KafkaAccessRefused, match="ssl_certfile"):
        KafkaBus(config).create_topics([FRAMES])
