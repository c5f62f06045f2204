"""Outputs: where events (and per-frame scores) go."""

from vidwatch.sinks.base import Sink, SinkSet
from vidwatch.sinks.jsonl import JsonlSink
from vidwatch.sinks.logging_sink import LogSink

__all__ = ["JsonlSink", "LogSink", "Sink", "SinkSet"]
