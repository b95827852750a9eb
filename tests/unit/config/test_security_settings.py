"""Kafka SASL/SSL and Redis auth/TLS settings: validated together, secrets from the environment
or from files, and never shown (repr, JSON, ``config show``, error messages)."""

from __future__ import annotations

import ssl

import pytest
from typer.testing import CliRunner

from vidsentry.bus.kafka_security import security_options
from vidsentry.cli import app
from vidsentry.config import ConfigError, KafkaConfig, RedisConfig, load_config
from vidsentry.redis_client import redis_client, redis_location

SECRET = "s3cret-Value-0123"
SASL = {"VIDSENTRY_BUS__KAFKA__SECURITY_PROTOCOL": "SASL_SSL", "VIDSENTRY_BUS__KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "VIDSENTRY_BUS__KAFKA__SASL_USERNAME": "alice"}


def test_the_security_keys_exist_and_default_to_plaintext():
    kafka = load_config(None, {}).bus.kafka
    assert (kafka.security_protocol, kafka.sasl_mechanism, kafka.ssl_check_hostname) == ("PLAINTEXT", None, True)
    assert security_options(kafka) == {"security_protocol": "PLAINTEXT"}


def test_a_sasl_protocol_needs_mechanism_user_and_password():
    with pytest.raises(ConfigError) as err:
        load_config(None, {"VIDSENTRY_BUS__KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    message = str(err.value)
    assert "needs sasl_mechanism, sasl_username and sasl_password" in message
    assert "environment variable VIDSENTRY_BUS__KAFKA__SECURITY_PROTOCOL" in message


@pytest.mark.parametrize("settings, unused", [
    ({"sasl_username": "alice"}, "sasl_username set, but security_protocol PLAINTEXT does not log in"),
    ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "a", "sasl_password": "p",
      "ssl_check_hostname": False, "ssl_password": "x"}, "ssl_password set, but security_protocol SASL_PLAINTEXT"),
])
def test_settings_the_protocol_would_ignore_are_refused(settings, unused):
    with pytest.raises(ValueError, match=unused):
        KafkaConfig(**settings)


def test_ssl_files_must_exist_and_a_certificate_needs_its_key(tmp_path):
    with pytest.raises(ValueError, match="(?s)ssl_cafile.*no such file"):
        KafkaConfig(security_protocol="SSL", ssl_cafile=tmp_path / "missing.pem")
    cert = tmp_path / "client.pem"
    cert.write_text("x")
    with pytest.raises(ValueError, match="needs both ssl_certfile and ssl_keyfile"):
        KafkaConfig(security_protocol="SSL", ssl_certfile=cert)


def test_secrets_from_the_environment_keep_their_text():
    env = {**SASL, "VIDSENTRY_BUS__KAFKA__SASL_PASSWORD": "0123", "VIDSENTRY_REDIS__PASSWORD": "yes"}
    config = load_config(None, env)
    assert config.bus.kafka.sasl_password.get_secret_value() == "0123"  # not the number 123
    assert config.redis.password.get_secret_value() == "yes"  # not True


def test_a_secret_file_is_read_without_its_trailing_newline(tmp_path):
    (tmp_path / "kafka").write_text(SECRET + "\n")
    (tmp_path / "key").write_text("key-" + SECRET + "\r\n")
    path = tmp_path / "c.yaml"
    path.write_text(f"redis:\n  url: redis://r:6379/0\n  password_file: {tmp_path / 'key'}\n")
    config = load_config(path, {**SASL, "VIDSENTRY_BUS__KAFKA__SASL_PASSWORD_FILE": str(tmp_path / "kafka")})
    assert config.bus.kafka.sasl_password.get_secret_value() == SECRET
    assert config.redis.password.get_secret_value() == "key-" + SECRET


@pytest.mark.parametrize("content, problem", [(None, "cannot read"), ("\n", "is empty")])
def test_an_unreadable_or_empty_secret_file_is_refused(tmp_path, content, problem):
    secret = tmp_path / "secret"
    if content is not None:
        secret.write_text(content)
    with pytest.raises(ConfigError, match=f"sasl_password_file: .*{problem}.*VIDSENTRY_BUS__KAFKA__SASL_PASSWORD_FILE"):
        load_config(None, {**SASL, "VIDSENTRY_BUS__KAFKA__SASL_PASSWORD_FILE": str(secret)})


def test_a_secret_and_its_file_together_are_refused(tmp_path):
    (tmp_path / "secret").write_text(SECRET)
    with pytest.raises(ValueError, match="give password or password_file, not both"):
        RedisConfig(url="redis://r/0", password="x", password_file=str(tmp_path / "secret"))


def test_secrets_never_show(tmp_path):
    config = load_config(None, {**SASL, "VIDSENTRY_BUS__KAFKA__SASL_PASSWORD": SECRET,
                                "VIDSENTRY_REDIS__URL": "redis://r:6379/0", "VIDSENTRY_REDIS__PASSWORD": SECRET})
    assert SECRET not in repr(config) and SECRET not in str(config) and SECRET not in config.model_dump_json()
    # a validation error elsewhere in a section with a secret does not echo the input
    with pytest.raises(ValueError) as err:
        KafkaConfig(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="a",
                    sasl_password=SECRET, partitions=0)
    assert SECRET not in str(err.value)
    shown = CliRunner().invoke(app, ["config", "show"], env={"VIDSENTRY_BUS__KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                                                             "VIDSENTRY_BUS__KAFKA__SASL_MECHANISM": "PLAIN",
                                                             "VIDSENTRY_BUS__KAFKA__SASL_USERNAME": "alice",
                                                             "VIDSENTRY_BUS__KAFKA__SASL_PASSWORD": SECRET})
    assert shown.exit_code == 0 and '"sasl_username": "alice"' in shown.output and SECRET not in shown.output


def test_kafka_clients_get_the_sasl_and_tls_settings(tmp_path):
    options = security_options(KafkaConfig(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-256",
                                           sasl_username="alice", sasl_password=SECRET, ssl_check_hostname=False))
    context = options.pop("ssl_context")
    assert options == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256",
                       "sasl_plain_username": "alice", "sasl_plain_password": SECRET}
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is False
    assert context.maximum_version == ssl.TLSVersion.TLSv1_2


def test_redis_credentials_in_the_url_and_in_the_settings_conflict():
    with pytest.raises(ValueError, match="password in url or in password, not both"):
        RedisConfig(url="redis://:pw@r:6379/0", password="x")
    with pytest.raises(ValueError, match="tls_ca_file is set but TLS is off"):
        RedisConfig(url="redis://r:6379/0", tls_ca_file=__file__)


def test_the_redis_client_uses_the_settings():
    config = RedisConfig(url="redis://cache:6380/2", username="agg", password=SECRET, tls=True, tls_ca_file=__file__)
    kwargs = redis_client(config).connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["username"], kwargs["password"]) == \
        ("cache", 6380, 2, "agg", SECRET)
    assert kwargs["ssl_ca_certs"] == __file__ and redis_client(config).connection_pool.connection_class.__name__ == "SSLConnection"
    assert redis_location(config) == "rediss://cache:6380/2"
    assert redis_location(RedisConfig(url="redis://u:pw@cache/0")) == "redis://cache:6379/0"
