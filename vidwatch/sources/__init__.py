"""Where frames come from: video files, cameras, network streams and image folders.

``open_source(spec)`` picks the right reader from the spec alone and returns a context-managed
iterator of :class:`~vidwatch.frames.SourceFrame`. Sources know nothing of detection. A file is
read frame by frame, never dropping one; a live source is read on its own thread and analysis
always gets the newest frame, so a slow analysis never makes the picture lag (stale frames are
dropped and counted).
"""

from __future__ import annotations

import glob
import logging
import os
import threading
from pathlib import Path

from vidwatch.errors import SourceError
from vidwatch.sources.ahead import DecodeAhead
from vidwatch.sources.base import Source, SourceParams
from vidwatch.sources.file import VideoFileSource
from vidwatch.sources.images import IMAGE_SUFFIXES, ImageFolderSource, natural_key
from vidwatch.sources.live import LiveSource
from vidwatch.sources.pacing import RealtimeSource
from vidwatch.sources.pyav_file import PyAVFileSource, PyAVUnsupported
from vidwatch.sources.reconnect import StreamNotice

log = logging.getLogger(__name__)

STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


def open_source(spec: str, params: SourceParams | None = None, *, stop: threading.Event | None = None) -> Source:
    """Open a source from its spec: camera index, /dev/video*, stream URL, image folder or glob, video file.

    ``stop`` lets a live source that is waiting for frames or reconnecting end promptly on a signal.
    """
    params = params or SourceParams()
    text = str(spec).strip()
    if text.isdigit():
        return LiveSource(int(text), f"camera {text}", params, stop=stop)
    if text.startswith("/dev/video"):
        if not os.path.exists(text):
            raise SourceError(f"no such camera device: {text}; list cameras with `ls /dev/video*`")
        return LiveSource(text, text, params, stop=stop)
    if text.lower().startswith(STREAM_PREFIXES):
        return LiveSource(text, text, params, stop=stop)
    path = Path(text)
    if path.is_dir():
        files = sorted((str(p) for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=natural_key)
        if not files:
            raise SourceError(f"folder '{text}' has no images ({', '.join(sorted(IMAGE_SUFFIXES))}); "
                              f"point at a folder of snapshots or a video file")
        return ImageFolderSource(text, files, params.image_fps)
    if any(ch in text for ch in "*?["):
        files = sorted((p for p in glob.glob(text) if Path(p).suffix.lower() in IMAGE_SUFFIXES), key=natural_key)
        if not files:
            raise SourceError(f"no images match '{text}'; check the pattern (quote it so the shell keeps it)")
        return ImageFolderSource(text, files, params.image_fps)
    if not path.exists():
        raise SourceError(f"no such file: {text}; give a video file, an image folder, a camera index "
                          f"(0) or a stream URL (rtsp://...)")
    if not path.is_file():
        raise SourceError(f"'{text}' is not a regular file; give a video file or an image folder")
    source = open_video_file(text, params.decoder)
    return DecodeAhead(source, params.decode_ahead) if params.decode_ahead > 0 else source


def open_video_file(path: str, decoder: str = "auto") -> Source:
    """A reader for a recorded file: PyAV (luma, frame-threaded) where it can, else OpenCV."""
    if decoder == "opencv":
        return VideoFileSource(path)
    try:
        return PyAVFileSource(path)
    except PyAVUnsupported as exc:
        if decoder == "pyav":
            raise SourceError(f"cannot open '{path}' with PyAV ({exc}); check the file, or set "
                              f"source.decoder: opencv") from None
        log.debug("PyAV cannot open %s (%s); using OpenCV", path, exc)
        return VideoFileSource(path)


__all__ = ["DecodeAhead", "ImageFolderSource", "LiveSource", "PyAVFileSource", "RealtimeSource", "Source",
           "SourceParams", "StreamNotice", "VideoFileSource", "open_source", "open_video_file"]
