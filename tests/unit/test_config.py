"""Settings.from_env: typed parsing, and every bad value named before the port is bound."""

import pytest

from validator.config import Settings, SignalEffect
from validator.errors import ConfigError


def test_defaults_run_the_embedded_service():
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.dns_nameservers == ()


def test_values_are_parsed_to_their_types():
    settings = Settings.from_env(
        {
            "VALIDATOR_PORT": "9000",
            "VALIDATOR_DNS_NAMESERVERS": "127.0.0.1:5353, [::1]:5300, 10.0.0.1",
            "VALIDATOR_DNS_TIMEOUT": "0.5",
            "VALIDATOR_ALLOW_SMTPUTF8": "false",
            "VALIDATOR_SIGNAL_TYPO": "block",
        }
    )
    assert settings.port == 9000
    assert settings.dns_nameservers == (("127.0.0.1", 5353), ("::1", 5300), ("10.0.0.1", 53))
    assert settings.dns_timeout == 0.5
    assert settings.allow_smtputf8 is False
    assert settings.signal_typo is SignalEffect.BLOCK


@pytest.mark.parametrize(
    "env, culprit",
    [
        ({"VALIDATOR_PORT": "eighty"}, "VALIDATOR_PORT"),
        ({"VALIDATOR_PORT": "70000"}, "VALIDATOR_PORT"),
        ({"VALIDATOR_DNS_NAMESERVERS": "dns.google"}, "VALIDATOR_DNS_NAMESERVERS"),  # names would need DNS to resolve
        ({"VALIDATOR_DNS_NAMESERVERS": "127.0.0.1:0"}, "VALIDATOR_DNS_NAMESERVERS"),
        ({"VALIDATOR_DNS_TIMEOUT": "-1"}, "VALIDATOR_DNS_TIMEOUT"),
        ({"VALIDATOR_ALLOW_SMTPUTF8": "maybe"}, "VALIDATOR_ALLOW_SMTPUTF8"),
        ({"VALIDATOR_SIGNAL_DISPOSABLE": "reject"}, "VALIDATOR_SIGNAL_DISPOSABLE"),
        ({"VALIDATOR_DATABASE_URL": "mysql://x"}, "VALIDATOR_DATABASE_URL"),
        ({"VALIDATOR_PROT": "8080"}, "VALIDATOR_PROT"),  # a typo must not pass silently
        ({"VALIDATOR_DEFAULT_TIMEOUT_MS": "5000", "VALIDATOR_MAX_TIMEOUT_MS": "1000"}, "VALIDATOR_DEFAULT_TIMEOUT_MS"),
        ({"VALIDATOR_SMTP_ALLOW_NETWORKS": "10.1.2.3/8"}, "VALIDATOR_SMTP_ALLOW_NETWORKS"),  # host bits: a typo
        ({"VALIDATOR_SMTP_ALLOW_NETWORKS": "localhost"}, "VALIDATOR_SMTP_ALLOW_NETWORKS"),
        ({"VALIDATOR_SMTP_HELO_NAME": "probe.example\r\nRSET"}, "VALIDATOR_SMTP_HELO_NAME"),  # goes on the wire
        ({"VALIDATOR_SMTP_MAIL_FROM": "no-at-sign"}, "VALIDATOR_SMTP_MAIL_FROM"),
        ({"VALIDATOR_SMTP_MAIL_FROM": "a b@example.com"}, "VALIDATOR_SMTP_MAIL_FROM"),
        (
            {"VALIDATOR_SMTP_MAX_CONNECTIONS": "2", "VALIDATOR_SMTP_MAX_CONNECTIONS_PER_HOST": "3"},
            "VALIDATOR_SMTP_MAX_CONNECTIONS_PER_HOST",
        ),
        ({"VALIDATOR_SMTP_DOMAIN_RATE": "0"}, "VALIDATOR_SMTP_DOMAIN_RATE"),
    ],
    ids=[
        "not_int",
        "port_range",
        "hostname",
        "port_zero",
        "negative",
        "bool",
        "effect",
        "scheme",
        "unknown",
        "cross",
        "cidr_host_bits",
        "cidr_name",
        "helo_crlf",
        "from_no_at",
        "from_space",
        "per_host_over_global",
        "rate_zero",
    ],
)
def test_bad_values_name_the_variable(env, culprit):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert caught.value.field == culprit
    assert culprit in str(caught.value) or caught.value.field == culprit


def test_cli_flags_overlay_environment():
    settings = Settings.from_env({"VALIDATOR_PORT": "9000"}).with_values(port="9100", host=None)
    assert (settings.port, settings.host) == (9100, "127.0.0.1")


def test_smtp_probing_is_off_by_default_and_parsed_when_set():
    assert Settings.from_env({}).smtp_probe is False
    assert Settings.from_env({}).smtp_allow_networks == ()
    settings = Settings.from_env(
        {
            "VALIDATOR_SMTP_PROBE": "true",
            "VALIDATOR_SMTP_ALLOW_NETWORKS": "127.0.0.0/8, fd00::/8",
            "VALIDATOR_SMTP_MAIL_FROM": "verify@probe.example",
            "VALIDATOR_SMTP_TLS_VERIFY": "yes",
        }
    )
    assert settings.smtp_probe and settings.smtp_tls_verify
    assert [str(n) for n in settings.smtp_allow_networks] == ["127.0.0.0/8", "fd00::/8"]
    assert settings.smtp_mail_from == "verify@probe.example"


@pytest.mark.parametrize(
    "env, culprit",
    [
        ({}, "VALIDATOR_SMTP_HELO_NAME"),  # no name at all: getfqdn() said "localhost" on the machine that found this
        ({"VALIDATOR_SMTP_HELO_NAME": "localhost"}, "VALIDATOR_SMTP_HELO_NAME"),
        ({"VALIDATOR_SMTP_HELO_NAME": "prober"}, "VALIDATOR_SMTP_HELO_NAME"),  # not fully qualified
        ({"VALIDATOR_SMTP_HELO_NAME": "mail.localdomain"}, "VALIDATOR_SMTP_HELO_NAME"),  # Debian's default domain
        ({"VALIDATOR_SMTP_HELO_NAME": "box.local"}, "VALIDATOR_SMTP_HELO_NAME"),  # RFC 6762 multicast DNS
        ({"VALIDATOR_SMTP_HELO_NAME": "192.0.2.7"}, "VALIDATOR_SMTP_HELO_NAME"),  # an address is not a name
        ({"VALIDATOR_SMTP_HELO_NAME": "-bad-.example.com"}, "VALIDATOR_SMTP_HELO_NAME"),
        ({"VALIDATOR_SMTP_MAIL_FROM": "verify@localhost"}, "VALIDATOR_SMTP_MAIL_FROM"),  # the derived name is no better
    ],
    ids=["unset", "localhost", "single_label", "localdomain", "mdns", "ip", "bad_label", "from_localhost"],
)
def test_probing_refuses_to_start_without_a_proper_helo_name(env, culprit):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"VALIDATOR_SMTP_PROBE": "true", **env})
    assert caught.value.field == culprit and culprit in str(caught.value)
    assert "docs/probing.md" in str(caught.value)


def test_the_helo_name_is_the_setting_or_the_mail_from_domain():
    from validator.config import helo_name

    assert helo_name(Settings.from_env({"VALIDATOR_SMTP_HELO_NAME": "Probe.Example.COM."})) == "probe.example.com"
    assert (
        helo_name(Settings.from_env({"VALIDATOR_SMTP_MAIL_FROM": "verify@sender.example.org"})) == "sender.example.org"
    )
    assert Settings.from_env({}).smtp_probe is False  # without probing nothing is asked of the name
