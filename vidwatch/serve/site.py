"""The site config of ``vidwatch serve``: cameras, the service and MQTT, next to ``run``'s own sections.

The sections ``run`` knows (analysis, zones, source, detectors, events, outputs, hooks) are the
defaults of every camera. A camera may override any of them: mappings are merged key by key into
the site's (a detector set to ``false`` is left out for that camera, an event kind set to ``false``
is switched off), anything else replaces the site's value. A camera's ``source`` is what it reads
(any source ``run`` accepts); the ``source`` section's keys for one camera go beside it in the
mapping form ``source: {url: rtsp://..., frame_timeout: 10}``. Every camera's effective config is
validated exactly as ``run`` validates a config, and errors name the key path from the top of the
file.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vidwatch.config import SECTIONS, Config, build_config, parse_override
from vidwatch.detectors import default_detectors
from vidwatch.errors import ConfigError
from vidwatch.params import build, param

CAMERA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""Camera names appear in URLs, MQTT topics, Home Assistant ids and folder names: keep them plain."""
TOPIC_WORD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SITE_SECTIONS = (*SECTIONS, "cameras", "serve", "mqtt")
CAMERA_KEYS = tuple(dict.fromkeys(("source", "record_source", *SECTIONS)))


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class ServeParams:
    """The web page, API, metrics and the data folder (YAML section ``serve``)."""

    host: str = param("127.0.0.1", "address the page, API and metrics listen on; loopback by default "
                      "(anything else needs a token)")
    port: int = param(8080, "TCP port of the page, API and metrics (0: any free port, logged at start)",
                      min=0, max=65535)
    data: str = param("vidwatch-data", "folder for the SQLite event database, snapshots and clips")
    token: str | None = param(None, "secret every request must carry (header `Authorization: Bearer TOKEN` "
                              "or `?token=TOKEN`); required when host is not loopback")
    retain_days: float = param(30.0, "events, snapshots and clips older than this many days are deleted",
                               min=0.0, min_exclusive=True, max=36500.0)
    retain_gb: float = param(20.0, "snapshots and clips past this many GB are deleted, oldest events first",
                             min=0.0, min_exclusive=True, max=1.0e6)
    live_fps: float = param(5.0, "frames per second of the live view (the detectors see every frame)",
                            min=0.1, max=30.0)
    live_width: int = param(640, "width in pixels of the live view picture", min=64, max=3840)
    history: float = param(120.0, "seconds of scores the page's sparklines show", min=5.0, max=3600.0)
    public_url: str | None = param(None, "base URL others reach this service at, for the snapshot links in "
                                   "MQTT event messages; default http://HOST:PORT")

    def __post_init__(self) -> None:
        if not self.host.strip():
            raise ValueError("host is empty; give an address such as 127.0.0.1")
        if self.token is not None and (len(self.token) < 8 or any(c.isspace() for c in self.token)):
            raise ValueError("token must be at least 8 characters without spaces; e.g. the output of "
                             "`openssl rand -hex 16`")
        if self.token is None and not is_loopback(self.host):
            raise ValueError(f"token is required when host ({self.host}) is not a loopback address; set "
                             f"serve.token to a long random secret (e.g. `openssl rand -hex 16`) or listen "
                             f"on 127.0.0.1")
        if not self.data.strip():
            raise ValueError("data is empty; give a folder for the database, snapshots and clips")
        if self.public_url is not None and not self.public_url.lower().startswith(("http://", "https://")):
            raise ValueError(f"public_url must be an http:// or https:// URL, got {self.public_url!r}")


@dataclass(frozen=True, slots=True)
class MqttParams:
    """Events and motion states on an MQTT broker, with Home Assistant discovery (YAML section ``mqtt``)."""

    host: str | None = param(None, "broker address; MQTT is off when null")
    port: int = param(1883, "broker TCP port", min=1, max=65535)
    prefix: str = param("vidwatch", "first level of every topic, and of the Home Assistant entity ids")
    discovery: bool = param(True, "announce each camera to Home Assistant (MQTT discovery)")
    discovery_prefix: str = param("homeassistant", "Home Assistant's discovery topic prefix")
    username: str | None = param(None, "broker user name, when the broker wants one")
    password: str | None = param(None, "broker password, when the broker wants one")
    keepalive: int = param(30, "seconds between keep-alive pings; the broker declares vidwatch offline "
                           "after 1.5 times this without one", min=5, max=3600)
    reconnect_max: float = param(30.0, "longest wait between reconnect attempts to a broker that is down, "
                                 "in seconds", min=1.0, max=3600.0)

    def __post_init__(self) -> None:
        for name in ("prefix", "discovery_prefix"):
            if not TOPIC_WORD.match(getattr(self, name)):
                raise ValueError(f"{name} must be 1-64 characters of A-Z, a-z, 0-9, _ and -, "
                                 f"got {getattr(self, name)!r}")
        if self.host is not None and not self.host.strip():
            raise ValueError("host is empty; give the broker's address or null to switch MQTT off")

    @property
    def enabled(self) -> bool:
        return self.host is not None


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """One camera: what it reads, where its recordings come from, and its effective pipeline config."""

    name: str
    source: str
    record_source: str | None
    config: Config


@dataclass(frozen=True, slots=True)
class SiteConfig:
    cameras: Mapping[str, CameraConfig]
    serve: ServeParams
    mqtt: MqttParams

    @property
    def data(self) -> Path:
        return Path(self.serve.data)


def _merge(base: Any, override: Any) -> Any:
    """``override`` merged into ``base``: mappings key by key (``false`` drops a detector), else replaced."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        merged[key] = _merge(merged[key], value) if key in merged else copy.deepcopy(value)
    return merged


def _camera_document(name: str, entry: Any, site: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    """(source spec, record source, the camera's merged run config document)."""
    where = f"cameras.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with at least `source`, e.g. {{source: rtsp://...}}")
    for key in entry:
        if key not in CAMERA_KEYS:
            raise ConfigError(f"{where}.{key}: unknown key; allowed keys here: {', '.join(CAMERA_KEYS)}")
    source = entry.get("source")
    reading: dict[str, Any] = {}
    if isinstance(source, dict):
        reading = dict(source)
        source = reading.pop("url", None)
    if not isinstance(source, (str, int)) or isinstance(source, bool) or not str(source).strip():
        raise ConfigError(f"{where}.source: expected a source (stream URL, camera index, device or file), or "
                          f"a mapping with `url` and source settings; got {entry.get('source')!r}")
    record = entry.get("record_source")
    if record is not None and (not isinstance(record, str) or "://" not in record):
        raise ConfigError(f"{where}.record_source: expected a stream URL (e.g. the camera's main stream, "
                          f"rtsp://...) or null; got {record!r}")
    document = {k: copy.deepcopy(v) for k, v in site.items() if k in SECTIONS}
    if "detectors" in entry and "detectors" not in document:  # merged into the set that runs without one
        document["detectors"] = {n: {} for n in default_detectors()}
    for section in SECTIONS:
        if section in entry and section != "source":  # a camera's `source` is what it reads (see above)
            document[section] = _merge(document.get(section, {}), entry[section])
    if reading:
        document["source"] = _merge(document.get("source") or {}, reading)
    if isinstance(document.get("detectors"), dict):
        document["detectors"] = {k: v for k, v in document["detectors"].items() if v is not False}
    return str(source).strip(), record, document


def build_site(data: Any) -> SiteConfig:
    """Validate a parsed site YAML document into a :class:`SiteConfig`."""
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping with sections {', '.join(SITE_SECTIONS)}, got "
                          f"{type(data).__name__ if data is not None else 'an empty file'}")
    for key in data:
        if key not in SITE_SECTIONS:
            raise ConfigError(f"{key}: unknown section; allowed: {', '.join(SITE_SECTIONS)}")
    build_config({k: v for k, v in data.items() if k in SECTIONS})  # the shared defaults alone, named as such
    cameras_data = data.get("cameras")
    if not isinstance(cameras_data, dict) or not cameras_data:
        raise ConfigError("cameras: expected a mapping of name -> camera with at least one camera, e.g. "
                          "cameras: {door: {source: rtsp://...}}")
    cameras: dict[str, CameraConfig] = {}
    for name, entry in cameras_data.items():
        if not isinstance(name, str) or not CAMERA_NAME.match(name):
            raise ConfigError(f"cameras.{name}: a camera name is 1-64 characters of A-Z, a-z, 0-9, _ and -")
        source, record, document = _camera_document(name, entry, data)
        try:
            config = build_config(document)
        except ConfigError as exc:
            raise ConfigError(f"cameras.{name}.{exc}") from None
        cameras[name] = CameraConfig(name, source, record, config)
    return SiteConfig(cameras, build(ServeParams, data.get("serve"), "serve"),
                      build(MqttParams, data.get("mqtt"), "mqtt"))


def apply_site_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """``--set key.path=value`` on the site document (validated afterwards like the file itself)."""
    data = copy.deepcopy(data)
    for text in overrides:
        path, value = parse_override(text)
        node: Any = data
        for i, part in enumerate(path[:-1]):
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text}: '{'.'.join(path[:i])}' is not a section")
            node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {text}: '{'.'.join(path[:-1])}' is not a section")
        node[path[-1]] = value
    return data


def load_site(path: str | Path, overrides: Sequence[str] = ()) -> SiteConfig:
    """Read, override and validate a site config; every error is one :class:`ConfigError` line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"site config not found: {path}; check the path given to -c") from None
    except OSError as exc:
        raise ConfigError(f"cannot read site config {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"{path}: not valid YAML{f' at line {mark.line + 1}' if mark else ''}; fix the syntax") \
            from None
    if overrides:
        data = apply_site_overrides(data if isinstance(data, dict) else {}, overrides)
    try:
        return build_site(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}{' with --set' if overrides else ''}: {exc}") from None
