"""The site config of ``vidwatch serve``: as strict as run's config, with the key path in every error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vidwatch.errors import ConfigError
from vidwatch.serve.site import build_site, is_loopback, load_site

BASE = {"cameras": {"door": {"source": "rtsp://cam/door"}}}


def site(**sections):  # type: ignore[no-untyped-def]
    return build_site({**BASE, **sections})


@pytest.mark.parametrize(("document", "message"), [
    ({**BASE, "servo": {}}, "servo: unknown section; allowed: analysis, zones, source, detectors, "
     "objects, events, outputs, hooks, cameras, serve, mqtt"),
    ({"cameras": {}}, "cameras: expected a mapping of name -> camera with at least one camera"),
    ({"cameras": {"front door": {"source": "0"}}}, "cameras.front door: a camera name is 1-64 characters"),
    ({"cameras": {"door": {"source": "0", "zonez": {}}}}, "cameras.door.zonez: unknown key; allowed keys here: "
     "source, record_source, analysis"),
    ({"cameras": {"door": {}}}, "cameras.door.source: expected a source"),
    ({"cameras": {"door": {"source": {"frame_timeout": 3}}}}, "cameras.door.source: expected a source"),
    ({"cameras": {"door": {"source": {"url": "rtsp://x", "frame_timeout": -1}}}},
     "cameras.door.source.frame_timeout: -1.0 is out of range; allowed: float in [0.1, 600.0]"),
    ({"cameras": {"door": {"source": "0", "record_source": "main.mp4"}}},
     "cameras.door.record_source: expected a stream URL"),
    ({"cameras": {"door": {"source": "0", "detectors": {"diff": {"threshold": "high"}}}}},
     "cameras.door.detectors.diff.threshold: expected float >= 0.0, got 'high'"),
    ({"cameras": {"door": {"source": "0", "events": {"motion": {"min_frames": 0}}}}},
     "cameras.door.events.motion.min_frames: 0 is out of range"),
    ({**BASE, "detectors": {"diff": {"threshold": -1}}}, "detectors.diff.threshold: -1.0 is out of range"),
    ({**BASE, "serve": {"port": 70000}}, "serve.port: 70000 is out of range; allowed: int in [0, 65535]"),
    ({**BASE, "serve": {"retain_days": 0}}, "serve.retain_days: 0.0 is out of range"),
    ({**BASE, "serve": {"live_fps": "fast"}}, "serve.live_fps: expected float in [0.1, 30.0], got 'fast'"),
    ({**BASE, "serve": {"host": "0.0.0.0"}}, "serve: token is required when host (0.0.0.0) is not a loopback "
     "address"),
    ({**BASE, "serve": {"host": "192.168.1.5", "token": "short"}}, "serve: token must be at least 8 characters"),
    ({**BASE, "serve": {"colour": True}}, "serve.colour: unknown key; allowed keys here: data, history, host"),
    ({**BASE, "mqtt": {"prefix": "a/b"}}, "mqtt: prefix must be 1-64 characters of A-Z"),
    ({**BASE, "mqtt": {"port": 0}}, "mqtt.port: 0 is out of range"),
    ({**BASE, "mqtt": {"discovery": "yes"}}, "mqtt.discovery: expected bool, got 'yes'"),
])
def test_bad_values_are_rejected_with_their_key_path(document: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        build_site(document)
    assert str(error.value).startswith(message), str(error.value)


def test_cameras_take_the_site_sections_as_defaults_and_override_them_key_by_key() -> None:
    config = build_site({
        "detectors": {"diff": {"threshold": 0.01}, "background": {}},
        "source": {"frame_timeout": 7},
        "cameras": {
            "door": {"source": "rtsp://cam/door"},
            "yard": {"source": {"url": "rtsp://cam/yard", "rtsp_transport": "udp"},
                     "detectors": {"diff": {"noise_level": 20}, "flow": {}},
                     "events": {"motion": {"min_frames": 5}}},
            "gate": {"source": "rtsp://cam/gate", "detectors": {"background": False},
                     "events": {"motion": {"fusion": 1}}},
        },
    })
    door, yard, gate = config.cameras["door"], config.cameras["yard"], config.cameras["gate"]
    assert (door.source, door.record_source) == ("rtsp://cam/door", None)
    assert list(door.config.detectors) == ["diff", "background"] and door.config.source.frame_timeout == 7
    assert list(yard.config.detectors) == ["diff", "background", "flow"]
    assert yard.config.detectors["diff"].params.threshold == 0.01  # kept from the site
    assert yard.config.detectors["diff"].params.noise_level == 20  # the camera's own
    assert yard.config.source.rtsp_transport == "udp" and yard.config.source.frame_timeout == 7
    assert yard.config.events["motion"].min_frames == 5 and door.config.events["motion"].min_frames == 1
    assert list(gate.config.detectors) == ["diff"]  # `background: false` leaves it out for this camera
    assert config.serve.host == "127.0.0.1" and config.serve.token is None and config.mqtt.enabled is False


def test_a_camera_that_overrides_detectors_starts_from_the_default_set() -> None:
    camera = site(cameras={"door": {"source": "0", "detectors": {"diff": {"threshold": 0.05}}}}).cameras["door"]
    assert list(camera.config.detectors) == ["background", "histogram", "structure", "lighting", "camera", "diff"]
    assert camera.config.detectors["diff"].params.threshold == 0.05


def test_a_token_opens_other_addresses_and_loopback_needs_none() -> None:
    assert site(serve={"host": "0.0.0.0", "token": "0123456789abcdef"}).serve.token == "0123456789abcdef"
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.5"):
        assert site(serve={"host": host}).serve.host == host
    assert not is_loopback("0.0.0.0") and not is_loopback("camera.local") and is_loopback("[::1]")


def test_load_site_names_the_file_and_applies_set_overrides(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({"cameras": {"door": {"source": "rtsp://cam/door"}}, "serve": {"port": 8081}}))
    loaded = load_site(path, ["serve.port=9000", "cameras.door.detectors.diff.threshold=0.02", "mqtt.host=broker"])
    assert loaded.serve.port == 9000 and loaded.mqtt.host == "broker"
    assert loaded.cameras["door"].config.detectors["diff"].params.threshold == 0.02
    with pytest.raises(ConfigError, match=rf"^{path} with --set: serve: token is required"):
        load_site(path, ["serve.host=0.0.0.0"])
    with pytest.raises(ConfigError, match=r"site config not found: .*nope.yaml; check the path given to -c"):
        load_site(tmp_path / "nope.yaml")
    path.write_text("cameras: [unclosed")
    with pytest.raises(ConfigError, match=r"not valid YAML at line 1"):
        load_site(path)


def test_serve_without_its_libraries_says_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from vidwatch.errors import UserError
    from vidwatch.serve import service

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("uvicorn", "paho.mqtt") else real(name, *a))
    with pytest.raises(UserError, match=r"needs uvicorn, paho-mqtt; install them with: pip install "
                                        r"'vidwatch\[serve\]'"):
        service.require_libraries(site(mqtt={"host": "broker"}))


def test_the_core_never_imports_the_web_or_mqtt_libraries() -> None:
    import subprocess
    import sys

    code = ("import sys, vidwatch.cli, vidwatch.pipeline, vidwatch.config, vidwatch.serve.site; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'paho', 'prometheus_client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
