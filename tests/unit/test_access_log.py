"""What the access log may show of a request target: no local part, no query value, no forged line."""

import pytest

from validator.api.access_log import mask_addresses, mask_secrets


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        pytest.param("/v1/validate", "/v1/validate", id="no-address"),
        pytest.param("/v1/suppressions/jane.doe@example.com", "/v1/suppressions/j***@example.com", id="address"),
        # the router decodes %2E and %40, so the log must mask what it decoded, not the escapes
        pytest.param("/v1/suppressions/first%2Elast%40example.com", "/v1/suppressions/f***@example.com", id="encoded"),
        pytest.param("/v1/suppressions/a%2Fb@example.com", "/v1/suppressions/a***@example.com", id="encoded-slash"),
        pytest.param("/v1/x/a@b@example.com", "/v1/x/a***@example.com", id="two-at-signs"),
        pytest.param("/v1/suppressions/domains/dead.example", "/v1/suppressions/domains/dead.example", id="domain"),
        # a callback URL carries its receiver's token; "why" texts are free text: values are never logged
        pytest.param(
            "/v1/jobs?callback_url=https%3A%2F%2Fh.example%2F%3Ftoken%3Ds3&column=email",
            "/v1/jobs?callback_url=*&column=*",
            id="query-values",
        ),
        pytest.param("/v1/x?jane%40example.com=1", "/v1/x?j***@example.com=*", id="address-as-query-key"),
        # a decoded line break would start a forged log line
        pytest.param("/v1/x/a%0D%0A2026-01-01%20INFO", "/v1/x/a\\x0d\\x0a2026-01-01 INFO", id="crlf"),
        pytest.param("/v1/x/%22quoted%22", "/v1/x/\\x22quoted\\x22", id="quote"),
    ],
)
def test_mask_addresses(target: str, logged: str) -> None:
    assert mask_addresses(target) == logged


@pytest.mark.parametrize(
    ("quoted", "logged"),
    [
        # aiohttp's parser errors, as they quote the line they stopped at
        pytest.param(
            "Invalid header value char: b'Authorization: Bearer vk_0123456789abcdef_s3cr3tS3CR3T-_x\\x01' ^",
            "Invalid header value char: b'Authorization: Bearer ***' ^",
            id="bearer",
        ),
        pytest.param("b'Authorization: basic dXNlcjpwYXNz\\x01'", "b'Authorization: basic ***'", id="basic"),
        pytest.param("b'X-Key: pk_0123456789abcdef_s3cr3t'", "b'X-Key: pk_0123456789abcdef_***'", id="bare-token"),
        pytest.param(
            "Expected CRLF after version: b'GET /v1/suppressions/jane.doe@example.com?why=gone HTTP/1.1 x'",
            "Expected CRLF after version: b'GET /v1/suppressions/j***@example.com?* HTTP/1.1 x'",
            id="request-line",
        ),
        pytest.param(
            "b'GET /v1/x/first%2Elast%40example.com\\x00'", "b'GET /v1/x/f***%40example.com\\x00'", id="encoded"
        ),
        pytest.param(
            "Invalid header token: b'Bad Header: y' ^", "Invalid header token: b'Bad Header: y' ^", id="nothing"
        ),
    ],
)
def test_mask_secrets(quoted: str, logged: str) -> None:
    assert mask_secrets(quoted) == logged
