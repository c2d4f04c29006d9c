"""The metrics registry every layer updates (live layer, transports, HTTP refusals, rate
limits), rendered at /metrics in Prometheus's text exposition format."""

from __future__ import annotations

import bisect
from collections import defaultdict

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def render(self, name: str) -> list[str]:
        lines, running = [], 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            running += count
            lines.append(f'{name}_bucket{{le="{bound}"}} {running}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{name}_sum {self.total:.6f}")
        lines.append(f"{name}_count {self.count}")
        return lines


class ProcessMetrics:
    """The counters, gauges and histograms of one process, whichever layer updates them."""

    def __init__(self) -> None:
        self.connections = 0
        self.subscriptions: dict[str, int] = defaultdict(int)
        self.events_published = 0
        self.publish_failures = 0
        self.events_received = 0
        self.events_delivered = 0
        self.events_backfilled = 0
        self.slow_consumer_closes = 0
        self.closes: dict[int, int] = defaultdict(int)
        # Requests and connections refused by an abuse limit, by the limit's name.
        self.refusals: dict[str, int] = defaultdict(int)
        self.broker_reconnects = 0
        # viewersChanged: room lists rebuilt (one per changed room per burst, whatever the
        # number of watchers) and viewer payloads (user rows) built from them.
        self.presence_rebuilds = 0
        self.presence_payloads = 0
        self.delivery_latency = Histogram()

    def render(self) -> str:
        gauges = {
            "tasklive_connections": ("Open WebSockets and HTTP streams", self.connections),
        }
        counters = {
            "tasklive_events_published_total": ("Events published", self.events_published),
            "tasklive_publish_failures_total": ("Failed publishes", self.publish_failures),
            "tasklive_events_received_total": ("Events received", self.events_received),
            "tasklive_events_delivered_total": ("Event deliveries", self.events_delivered),
            "tasklive_events_backfilled_total": (
                "Events fetched from the log",
                self.events_backfilled,
            ),
            "tasklive_slow_consumer_closes_total": (
                "Slow consumers closed",
                self.slow_consumer_closes,
            ),
            "tasklive_broker_reconnects_total": ("Broker reconnects", self.broker_reconnects),
            "tasklive_presence_rebuilds_total": (
                "Watched rooms' viewer lists rebuilt",
                self.presence_rebuilds,
            ),
            "tasklive_presence_payloads_total": (
                "Viewer lists loaded for viewersChanged",
                self.presence_payloads,
            ),
        }
        lines: list[str] = []
        for name, (help_text, value) in gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
        for name, (help_text, value) in counters.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
        name = "tasklive_subscriptions"
        lines += [f"# HELP {name} Active subscriptions by operation", f"# TYPE {name} gauge"]
        lines += [f'{name}{{operation="{op}"}} {n}' for op, n in sorted(self.subscriptions.items())]
        name = "tasklive_websocket_closes_total"
        lines += [f"# HELP {name} WebSocket closes by code", f"# TYPE {name} counter"]
        lines += [f'{name}{{code="{code}"}} {n}' for code, n in sorted(self.closes.items())]
        name = "tasklive_refusals_total"
        lines += [f"# HELP {name} Requests refused by an abuse limit", f"# TYPE {name} counter"]
        lines += [f'{name}{{limit="{k}"}} {n}' for k, n in sorted(self.refusals.items())]
        name = "tasklive_delivery_latency_seconds"
        lines += [f"# HELP {name} Commit to delivery latency", f"# TYPE {name} histogram"]
        lines += self.delivery_latency.render(name)
        return "\n".join(lines) + "\n"
