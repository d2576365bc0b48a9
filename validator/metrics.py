"""In-process counters rendered in the Prometheus text format (version 0.0.4).

Plain dict counters rather than prometheus_client: the request path records two numbers
per request and a lock-free dict increment costs a fraction of a microsecond. Nothing
here does I/O; the API layer serves ``render()`` at ``/metrics``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable

from validator.model import ProbeOutcome, Status

# Seconds. Signup forms care about the low end; SMTP probes and slow DNS live at the top.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Counters for requests, latencies and verdicts; DNS figures are passed in at render time."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()  # (method, route, status)
        self._latency: dict[str, list[float]] = {}  # route -> [per-bucket counts..., +Inf count, sum]
        self.verdicts: Counter[Status] = Counter()
        self.probes: Counter[ProbeOutcome] = Counter()
        self.client_errors: Counter[str] = Counter()  # "disconnect", "malformed": the client's doing, not a 5xx

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        row = self._latency.get(route)
        if row is None:
            row = self._latency[route] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        row[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        row[-1] += seconds

    def count_verdict(self, status: Status) -> None:
        self.verdicts[status] += 1

    def count_probe(self, outcome: ProbeOutcome) -> None:
        self.probes[outcome] += 1

    def count_client_error(self, kind: str) -> None:
        self.client_errors[kind] += 1

    def render(self, gauges: Iterable[tuple[str, str, str, float]] = ()) -> str:
        """The exposition text. ``gauges`` adds (name, type, help, value) lines, e.g. DNS cache counters."""
        out = [
            "# HELP validator_http_requests_total HTTP requests by method, route and status.",
            "# TYPE validator_http_requests_total counter",
        ]
        for (method, route, status), n in sorted(self.requests.items()):
            out.append(f'validator_http_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}')
        out += [
            "# HELP validator_http_request_duration_seconds Request latency by route.",
            "# TYPE validator_http_request_duration_seconds histogram",
        ]
        for route, row in sorted(self._latency.items()):
            cumulative = 0.0
            bounds: tuple[float | str, ...] = (*LATENCY_BUCKETS, "+Inf")
            for bound, in_bucket in zip(bounds, row[:-1], strict=False):
                cumulative += in_bucket
                out.append(
                    f'validator_http_request_duration_seconds_bucket{{route="{route}",le="{bound}"}} {cumulative:g}'
                )
            out.append(f'validator_http_request_duration_seconds_sum{{route="{route}"}} {row[-1]:.6f}')
            out.append(f'validator_http_request_duration_seconds_count{{route="{route}"}} {cumulative:g}')
        out += [
            "# HELP validator_http_client_errors_total Requests the client broke off (disconnect) or sent "
            "malformed (malformed: bad HTTP framing), counted apart from server errors.",
            "# TYPE validator_http_client_errors_total counter",
        ]
        for kind in ("disconnect", "malformed"):
            out.append(f'validator_http_client_errors_total{{kind="{kind}"}} {self.client_errors[kind]}')
        out += ["# HELP validator_verdicts_total Verdicts by status.", "# TYPE validator_verdicts_total counter"]
        for verdict_status in Status:
            out.append(f'validator_verdicts_total{{status="{verdict_status}"}} {self.verdicts[verdict_status]}')
        out += [
            "# HELP validator_smtp_probes_total SMTP RCPT probes by outcome.",
            "# TYPE validator_smtp_probes_total counter",
        ]
        for outcome in ProbeOutcome:
            out.append(f'validator_smtp_probes_total{{outcome="{outcome}"}} {self.probes[outcome]}')
        for name, kind, help_text, value in gauges:
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value:g}"]
        return "\n".join(out) + "\n"
