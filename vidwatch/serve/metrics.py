"""``GET /metrics``: the cameras' health in Prometheus' text format (prometheus-client).

The values are read from the cameras' states when Prometheus scrapes, by a custom collector, so the
analysis threads never touch a metrics object per frame. Every name starts with ``vidwatch_``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vidwatch.serve.camera import LIVE, CameraState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ServiceMetrics = Callable[[], list[tuple[str, str, float]]]
"""(name, help, value) of the service's own gauges, read at each scrape."""


class CameraCollector(Collector):
    """Per-camera gauges and counters, plus the service's own queue and MQTT state."""

    def __init__(self, states: Mapping[str, CameraState], service: ServiceMetrics) -> None:
        self.states = states
        self.service = service

    def collect(self) -> Iterator[Metric]:
        label = ["camera"]
        fps = GaugeMetricFamily("vidwatch_camera_fps", "Analysed frames per second (last 64 frames)", labels=label)
        up = GaugeMetricFamily("vidwatch_camera_up", "1 while the camera delivers frames", labels=label)
        armed = GaugeMetricFamily("vidwatch_camera_armed", "1 when events of the camera are notified",
                                  labels=label)
        latency = GaugeMetricFamily("vidwatch_camera_latency_seconds",
                                    "From the latest frame's arrival to the end of its analysis", labels=label)
        age = GaugeMetricFamily("vidwatch_camera_last_frame_age_seconds", "Seconds since the latest analysed frame",
                                labels=label)
        frames = CounterMetricFamily("vidwatch_camera_frames", "Frames analysed", labels=label)
        dropped = CounterMetricFamily("vidwatch_camera_dropped_frames", "Frames dropped because analysis was "
                                      "busy (the newest frame is always the one analysed)", labels=label)
        reconnects = CounterMetricFamily("vidwatch_camera_reconnects", "Streams restored after a loss",
                                         labels=label)
        restarts = CounterMetricFamily("vidwatch_camera_pipeline_restarts", "Pipelines started again after "
                                       "an internal failure", labels=label)
        events = CounterMetricFamily("vidwatch_events", "Events opened, by camera and kind",
                                     labels=["camera", "kind"])
        failures = CounterMetricFamily("vidwatch_sink_failures", "Output calls that failed (detection went on)",
                                       labels=["camera", "sink"])
        for name, state in self.states.items():
            fps.add_metric([name], state.fps())
            up.add_metric([name], 1.0 if state.state == LIVE else 0.0)
            armed.add_metric([name], 1.0 if state.armed else 0.0)
            if state.latency is not None:
                latency.add_metric([name], state.latency)
            last = state.last_frame_age()
            if last is not None:
                age.add_metric([name], last)
            frames.add_metric([name], state.frames)
            dropped.add_metric([name], state.dropped)
            reconnects.add_metric([name], state.reconnects)
            restarts.add_metric([name], state.restarts)
            for kind, count in sorted(state.events.items()):
                events.add_metric([name, kind], count)
            for sink, count in sorted(state.sink_failures.items()):
                failures.add_metric([name, sink], count)
        yield from (fps, up, armed, latency, age, frames, dropped, reconnects, restarts, events, failures)
        for key, doc, value in self.service():
            yield GaugeMetricFamily(f"vidwatch_{key}", doc, value=value)


def metrics_registry(states: Mapping[str, CameraState], service: ServiceMetrics) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CameraCollector(states, service))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
