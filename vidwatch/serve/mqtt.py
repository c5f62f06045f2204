"""Events and motion states over MQTT, with Home Assistant MQTT discovery (paho-mqtt).

Topics (``P`` = ``mqtt.prefix``, ``C`` = camera name):

- ``P/availability``: ``online`` while vidwatch runs; the broker publishes the last will ``offline``
  when the connection dies, and vidwatch publishes it when it stops (retained).
- ``P/C/motion``: ``ON`` while a notified motion event is open, else ``OFF`` (retained).
- ``P/C/connected``: ``ON`` while the camera delivers frames (retained).
- ``P/C/armed``: ``ON`` / ``OFF`` (retained); ``P/C/armed/set`` takes ``ON`` / ``OFF`` to arm or disarm.
- ``P/C/snapshot``: the JPEG snapshot of the latest notified event (retained).
- ``P/events``: one JSON message per notified event start (``type: new``) and end (``type: end``).

With ``discovery`` each camera is announced under ``homeassistant/...`` (retained): a motion binary
sensor, a connectivity binary sensor, an arm switch and a snapshot camera, all on one device, and
announced again whenever Home Assistant says ``online`` on ``homeassistant/status`` (it forgets
them when it restarts without a persistent broker). A broker that is down or goes away never
stops detection: the client reconnects with capped backoff on its own thread and publishes every
state again when it is back.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from vidwatch.events import MOTION
from vidwatch.serve.messages import EventMessage
from vidwatch.serve.site import MqttParams

log = logging.getLogger(__name__)

ON, OFF = "ON", "OFF"


def box_corners(box: Any) -> list[int] | None:
    """[x, y, w, h] -> [x1, y1, x2, y2] (the form Home Assistant and Frigate consumers expect)."""
    if not box:
        return None
    x, y, w, h = (int(v) for v in box)
    return [x, y, x + w, y + h]


class MqttPublisher:
    """One MQTT connection for the whole service; every method returns at once (paho queues)."""

    def __init__(self, params: MqttParams, cameras: Iterable[str], *, base_url: str,
                 on_arm: Callable[[str, bool], None], armed: dict[str, bool]) -> None:
        self.params = params
        self.prefix = params.prefix
        self.cameras = list(cameras)
        self.base_url = base_url.rstrip("/")
        self.on_arm = on_arm
        self._lock = threading.Lock()
        self._motion: dict[str, set[str]] = {c: set() for c in self.cameras}
        self._armed = dict(armed)
        self._connected_state: dict[str, bool] = {c: False for c in self.cameras}
        self._snapshots: dict[str, Path] = {}
        self.connected = False
        self.published = 0
        client_id = f"vidwatch-{self.prefix}-{socket.gethostname()}-{os.getpid()}"[:64]
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if params.username is not None:
            self.client.username_pw_set(params.username, params.password)
        self.client.will_set(self.topic("availability"), "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(1, max(1, int(params.reconnect_max)))
        self.client.max_queued_messages_set(1000)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def topic(self, *parts: str) -> str:
        return "/".join((self.prefix, *parts))

    def start(self) -> None:
        """Connect in the background; a broker that is not there yet is retried with backoff."""
        self.client.connect_async(self.params.host, self.params.port, keepalive=self.params.keepalive)
        self.client.loop_start()

    def stop(self, timeout: float = 5.0) -> None:
        """Say ``offline`` (retained) and disconnect, waiting up to ``timeout`` for the broker."""
        if self.connected:
            info = self.client.publish(self.topic("availability"), "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("MQTT: could not say offline: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()

    # -- paho callbacks (its network thread) --------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT: broker %s:%d refused the connection: %s", self.params.host, self.params.port, reason)
            return
        self.connected = True
        log.info("MQTT: connected to %s:%d", self.params.host, self.params.port)
        client.subscribe([(self.topic("+", "armed", "set"), 1), (f"{self.params.discovery_prefix}/status", 1)])
        self._announce()
        self._publish_states()

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if self.connected:
            log.warning("MQTT: lost the broker (%s); reconnecting", reason)
        self.connected = False

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        payload = message.payload.decode("utf-8", "replace").strip()
        if message.topic == f"{self.params.discovery_prefix}/status":
            if payload == "online":
                log.info("MQTT: Home Assistant is online; announcing the cameras again")
                self._announce()
                self._publish_states()
            return
        parts = message.topic.split("/")
        if len(parts) == 4 and parts[2:] == ["armed", "set"] and parts[1] in self._motion:
            if payload.upper() in (ON, OFF):
                self.on_arm(parts[1], payload.upper() == ON)
            else:
                log.warning("MQTT: %s: expected ON or OFF, got %r", message.topic, payload[:40])

    # -- what the service calls ---------------------------------------------------------------------

    def _publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 1) -> None:
        if retain and not self.connected:  # a state: all of them are published afresh on (re)connecting
            return
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == mqtt.MQTT_ERR_SUCCESS:
            self.published += 1
        elif info.rc not in (mqtt.MQTT_ERR_NO_CONN,):
            log.warning("MQTT: publishing to %s failed: %s", topic, mqtt.error_string(info.rc))

    def _announce(self) -> None:
        if not self.params.discovery:
            return
        for camera in self.cameras:
            for component, object_id, config in self.discovery(camera):
                topic = f"{self.params.discovery_prefix}/{component}/{object_id}/config"
                self._publish(topic, json.dumps(config), retain=True)

    def discovery(self, camera: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(component, object id, config) of each Home Assistant entity of one camera."""
        base = f"{self.prefix}_{camera}"
        device = {"identifiers": [base], "name": f"{camera}", "manufacturer": "vidwatch",
                  "model": "vidwatch camera", "configuration_url": self.base_url}
        common = {"availability_topic": self.topic("availability"), "payload_available": "online",
                  "payload_not_available": "offline", "device": device}
        return [
            ("binary_sensor", f"{base}_motion", {
                **common, "name": "Motion", "unique_id": f"{base}_motion", "object_id": f"{base}_motion",
                "device_class": "motion", "state_topic": self.topic(camera, "motion"),
                "payload_on": ON, "payload_off": OFF}),
            ("binary_sensor", f"{base}_connected", {
                **common, "name": "Connected", "unique_id": f"{base}_connected", "object_id": f"{base}_connected",
                "device_class": "connectivity", "entity_category": "diagnostic",
                "state_topic": self.topic(camera, "connected"), "payload_on": ON, "payload_off": OFF}),
            ("switch", f"{base}_armed", {
                **common, "name": "Armed", "unique_id": f"{base}_armed", "object_id": f"{base}_armed",
                "icon": "mdi:shield-check", "state_topic": self.topic(camera, "armed"),
                "command_topic": self.topic(camera, "armed", "set"), "payload_on": ON, "payload_off": OFF}),
            ("camera", f"{base}_snapshot", {
                **common, "name": "Last event", "unique_id": f"{base}_snapshot", "object_id": f"{base}_snapshot",
                "topic": self.topic(camera, "snapshot")}),
        ]

    def _publish_states(self) -> None:
        with self._lock:
            motion = {c: bool(ids) for c, ids in self._motion.items()}
            armed = dict(self._armed)
            connected = dict(self._connected_state)
        self._publish(self.topic("availability"), "online", retain=True)
        for camera in self.cameras:
            self._publish(self.topic(camera, "motion"), ON if motion[camera] else OFF, retain=True)
            self._publish(self.topic(camera, "armed"), ON if armed.get(camera, True) else OFF, retain=True)
            self._publish(self.topic(camera, "connected"), ON if connected[camera] else OFF, retain=True)
            if camera in self._snapshots:
                self.snapshot(camera, self._snapshots[camera])

    def event(self, message: EventMessage, snapshot: Path | None = None) -> None:
        """Publish a notified event (its start or end) and the camera's motion state if it changed."""
        if not message.notify:
            return
        e = message.event
        payload = {
            "type": "new" if message.phase == "start" else "end", "id": message.id, "camera": message.camera,
            "kind": message.kind, "start_time": round(message.start_epoch, 3),
            "end_time": round(message.end_epoch, 3) if message.phase == "end" else None,
            "detectors": e.get("detectors", []), "peak": e.get("peak", {}), "box": box_corners(e.get("box")),
            "snapshot": f"{self.base_url}/api/events/{message.id}/snapshot.jpg" if snapshot else None,
        }
        for key in ("reason", "attempts", "downtime"):
            if key in e:
                payload[key] = e[key]
        self._publish(self.topic("events"), json.dumps(payload))
        if message.kind == MOTION:
            with self._lock:
                ids = self._motion.setdefault(message.camera, set())
                before = bool(ids)
                (ids.add if message.phase == "start" else ids.discard)(message.id)
                after = bool(ids)
            if before != after:
                self._publish(self.topic(message.camera, "motion"), ON if after else OFF, retain=True)
        if snapshot is not None:
            self.snapshot(message.camera, snapshot)

    def snapshot(self, camera: str, path: Path) -> None:
        self._snapshots[camera] = path
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.warning("MQTT: cannot read snapshot %s: %s", path, exc.strerror)
            return
        self._publish(self.topic(camera, "snapshot"), data, retain=True)

    def armed(self, camera: str, armed: bool) -> None:
        with self._lock:
            self._armed[camera] = armed
        self._publish(self.topic(camera, "armed"), ON if armed else OFF, retain=True)

    def connection(self, camera: str, connected: bool) -> None:
        with self._lock:
            if self._connected_state.get(camera) == connected:
                return
            self._connected_state[camera] = connected
        self._publish(self.topic(camera, "connected"), ON if connected else OFF, retain=True)
