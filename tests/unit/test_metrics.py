"""Metrics.render: valid Prometheus text with cumulative histogram buckets."""

from validator.metrics import Metrics
from validator.model import ProbeOutcome, Status


def test_histogram_buckets_are_cumulative_and_counted():
    metrics = Metrics()
    metrics.observe_request("POST", "/v1/validate", 200, 0.0004)
    metrics.observe_request("POST", "/v1/validate", 200, 0.02)
    metrics.observe_request("POST", "/v1/validate", 400, 7.0)
    text = metrics.render()
    assert 'validator_http_requests_total{method="POST",route="/v1/validate",status="200"} 2' in text
    assert 'validator_http_request_duration_seconds_bucket{route="/v1/validate",le="0.001"} 1' in text
    assert 'validator_http_request_duration_seconds_bucket{route="/v1/validate",le="0.025"} 2' in text
    assert 'validator_http_request_duration_seconds_bucket{route="/v1/validate",le="+Inf"} 3' in text
    assert 'validator_http_request_duration_seconds_count{route="/v1/validate"} 3' in text


def test_verdicts_and_gauges_render():
    metrics = Metrics()
    metrics.count_verdict(Status.RISKY)
    text = metrics.render([("validator_dns_cache_hits_total", "counter", "hits", 5)])
    assert 'validator_verdicts_total{status="risky"} 1' in text
    assert 'validator_verdicts_total{status="deliverable"} 0' in text
    assert "# TYPE validator_dns_cache_hits_total counter\nvalidator_dns_cache_hits_total 5" in text


def test_probe_outcomes_render_with_zeros():
    metrics = Metrics()
    metrics.count_probe(ProbeOutcome.GREYLISTED)
    text = metrics.render()
    assert 'validator_smtp_probes_total{outcome="greylisted"} 1' in text
    assert 'validator_smtp_probes_total{outcome="accepted"} 0' in text
