"""What a camera runner sends to the serving process, besides its latest frame: events and media.

These are plain data (picklable), because a runner may live in another process (a Ray actor) and
everything it reports must cross that boundary as a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

START = "start"
END = "end"


@dataclass(slots=True)
class EventMessage:
    """An event of one camera opened (``phase`` start) or is final (``phase`` end)."""

    phase: str
    camera: str
    id: str
    """32 hex digits, made by the camera's feed; the only handle the API gives out."""
    kind: str
    start_epoch: float
    end_epoch: float
    event: dict[str, Any]
    """``Event.to_dict()`` at that moment: media times and frames, detectors, peak, box, file paths."""
    notify: bool = True
    """The camera was armed when the event opened: it goes to MQTT and hooks (disarmed: only recorded)."""


@dataclass(slots=True)
class MediaMessage:
    """A snapshot or clip of an event finished being written after the event itself ended."""

    camera: str
    id: str
    snapshot: str | None = None
    clip: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Message = EventMessage | MediaMessage
