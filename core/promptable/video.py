r"""Following objects through a video with SAM 2's memory; reading and writing short clips.

SAM 2 treats an image as a video of one frame. On a real video it keeps a **memory bank**: for every frame
it has segmented, a memory encoder fuses the frame's features with the predicted mask into a few memory
tokens, and an object pointer (a summary token of the object). To segment the next frame, **memory
attention** lets that frame's features attend to the memories of the frames with prompts (the
conditioning frames) and of the most recent frames, and the mask decoder does the rest, as in SAM. The
user prompts one frame; the model propagates; where it drifts, the user adds a click on that frame,
which becomes another conditioning frame, and propagates again.

:class:`VideoTracker` keeps one ``transformers`` inference session per clip and user. The clip is
read with PyAV (FFmpeg), resized and cut to a length a CPU can follow (:func:`read_video`), and the
result is written back as an MP4 (H.264) for the browser (:func:`encode_video`).
"""
from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from core.promptable.models import Loaded
from core.promptable.segment import Box, Point

__all__ = ["VideoError", "Clip", "read_video", "encode_video", "VideoTracker", "MAX_FRAMES", "MAX_SIDE"]

MAX_FRAMES = 32  # frames kept from an upload: SAM 2 keeps each one at 1024² (12 MB), and a CPU follows them in a minute
MAX_SIDE = 512  # the longest side of a kept frame, in pixels (SAM 2 works at 1024 anyway)
MAX_UPLOAD_FRAMES = 3000  # frames decoded at most while picking every k-th one


class VideoError(ValueError):
    """A video could not be used; ``str(err)`` is a sentence that says why and what to do (in English).

    ``code`` names the reason, so a page says the same sentence in its own language
    (``lessons/<lang>/sam2_video.toml``, ``video_<code>``).
    """

    MESSAGES = {
        "empty": "The file is empty. Choose a short video and upload it again.",
        "bad_params": "Keep at least one frame, and take every first frame or more.",
        "no_track": "This file has no pictures in it (no video track). Upload a video file.",
        "unreadable": "This file is not a video the app can read. Upload an MP4, WebM, MOV or AVI file.",
        "no_frames": "No frame could be decoded from this video. Try exporting it again as MP4 (H.264).",
    }

    def __init__(self, code: str):
        self.code = code
        super().__init__(self.MESSAGES[code])


@dataclass(frozen=True)
class Clip:
    frames: list[np.ndarray]  # (H, W, 3) uint8 RGB each, all the same size
    fps: float  # frames per second of the kept frames
    source_frames: int  # frames decoded from the file
    step: int  # every step-th frame of the file was kept
    truncated: bool  # the file went on after the last kept frame


def _resize(frame: np.ndarray, max_side: int) -> np.ndarray:
    h, w = frame.shape[:2]
    if max(h, w) <= max_side:
        return frame
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR))


def read_video(data: bytes, max_frames: int = MAX_FRAMES, step: int = 1, max_side: int = MAX_SIDE) -> Clip:
    """Decode the first ``max_frames`` frames (every ``step``-th) of a video file, longest side ``max_side``.

    Raises :class:`VideoError` with a plain sentence for empty, unreadable or image-less files.
    """
    import av

    if not data:
        raise VideoError("empty")
    if max_frames < 1 or step < 1:
        raise VideoError("bad_params")
    frames: list[np.ndarray] = []
    decoded, truncated, fps = 0, False, 0.0
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                raise VideoError("no_track")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            fps = float(stream.average_rate or stream.guessed_rate or 25)
            for frame in container.decode(stream):
                if decoded % step == 0:
                    if len(frames) == max_frames:
                        truncated = True
                        break
                    frames.append(_resize(frame.to_ndarray(format="rgb24"), max_side))
                decoded += 1
                if decoded >= MAX_UPLOAD_FRAMES:
                    truncated = True
                    break
    except VideoError:
        raise
    except Exception:  # av.error.InvalidDataError and friends: not a container FFmpeg understands
        raise VideoError("unreadable") from None
    if not frames:
        raise VideoError("no_frames")
    shape = frames[0].shape
    frames = [f if f.shape == shape else np.asarray(Image.fromarray(f).resize((shape[1], shape[0])))
              for f in frames]  # a stream that changes size mid-way is brought back to the first size
    return Clip(frames, fps / step, decoded, step, truncated)


def encode_video(frames: list[np.ndarray], fps: float = 8.0) -> tuple[bytes, str]:
    """Frames → an H.264 MP4 a browser plays (``video/mp4``), or an animated GIF where H.264 is missing."""
    import av

    h, w = frames[0].shape[:2]
    even = [f[: h - h % 2, : w - w % 2] for f in frames]  # H.264 in 4:2:0 needs even sides
    if "libx264" in av.codecs_available:
        buf = io.BytesIO()
        with av.open(buf, mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=max(1, round(fps)))
            stream.width, stream.height = even[0].shape[1], even[0].shape[0]
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "20", "movflags": "faststart"}
            for f in even:
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return buf.getvalue(), "video/mp4"
    buf = io.BytesIO()
    images = [Image.fromarray(f) for f in frames]
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return buf.getvalue(), "image/gif"


@dataclass
class _Prompt:
    frame: int
    obj: int
    points: list[Point] = field(default_factory=list)
    box: Box | None = None


class VideoTracker:
    """One clip, one SAM 2 video session: prompt objects on frames, propagate, correct, propagate again.

    ``masks[frame][obj]`` holds the latest (H, W) bool mask of each object on each frame segmented so far.
    Not shared between users: keep one per session.
    """

    def __init__(self, loaded: Loaded, frames: list[np.ndarray]):
        if loaded.kind != "sam2_video":
            raise ValueError(f"a VideoTracker needs SAM 2's video model, not {loaded.kind}")
        self.loaded = loaded
        self.model, self.processor, self.device = loaded.model, loaded.processor, loaded.device
        self.frames = frames
        self.size = frames[0].shape[:2]
        start = time.perf_counter()
        self.session = self.processor.init_video_session(video=frames, inference_device=self.device,
                                                         dtype=torch.float32)
        self.prepare_seconds = time.perf_counter() - start  # resizing and normalising every frame
        self.prompts: dict[tuple[int, int], _Prompt] = {}  # (frame, obj) → every prompt given there
        self.masks: dict[int, dict[int, np.ndarray]] = {}
        self.propagated = False  # masks cover every frame, from the latest prompts
        self.last_prompt_seconds = 0.0  # the latest add(): prompt encoder + decoder (+ image encoder for that frame)
        self.version = 0  # grows whenever the masks change (the page re-renders the video only then)

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def points_on(self, frame: int) -> dict[int, tuple[list[Point], Box | None]]:
        """The prompts given on ``frame``, per object."""
        return {obj: (list(p.points), p.box) for (f, obj), p in self.prompts.items() if f == frame}

    def conditioning_frames(self) -> list[int]:
        return sorted({frame for frame, _ in self.prompts})

    def _to_masks(self, out) -> dict[int, np.ndarray]:
        logits = self.processor.post_process_masks([out.pred_masks.float().cpu()], original_sizes=[list(self.size)],
                                                   binarize=False)[0]  # (objects, 1, H, W)
        return {int(obj): (logits[i, 0] > 0).numpy() for i, obj in enumerate(out.object_ids)}

    def _run_prompt(self, p: _Prompt) -> None:
        self.processor.add_inputs_to_inference_session(
            inference_session=self.session, frame_idx=p.frame, obj_ids=p.obj,
            input_points=[[[[q.x, q.y] for q in p.points]]] if p.points else None,
            input_labels=[[[q.label for q in p.points]]] if p.points else None,
            input_boxes=[[p.box.as_list()]] if p.box else None, clear_old_inputs=True)
        with torch.inference_mode():
            out = self.model(inference_session=self.session, frame_idx=p.frame)
        # A frame the tracker had already followed keeps the prompts as a correction made *with* memory;
        # it then becomes a conditioning frame, so the next propagation keeps it and remembers it.
        obj_idx = self.session.obj_id_to_idx(p.obj)
        outputs = self.session.output_dict_per_obj[obj_idx]
        if p.frame in outputs["non_cond_frame_outputs"]:
            outputs["cond_frame_outputs"][p.frame] = outputs["non_cond_frame_outputs"].pop(p.frame)
        self.masks.setdefault(p.frame, {}).update(self._to_masks(out))

    def add(self, frame: int, obj: int, point: Point | None = None, box: Box | None = None) -> dict[int, np.ndarray]:
        """Add a click (or set the box) for object ``obj`` on ``frame``; returns that frame's masks now."""
        if not 0 <= frame < self.num_frames:
            raise ValueError(f"frame {frame} is outside the clip (0 to {self.num_frames - 1})")
        p = self.prompts.setdefault((frame, obj), _Prompt(frame, obj))
        if box is not None:
            p.box = box
        if point is not None:
            p.points.append(point)
        start = time.perf_counter()
        self._run_prompt(p)
        self.last_prompt_seconds = time.perf_counter() - start
        self.propagated = False
        self.version += 1
        return self.masks[frame]

    def rebuild(self) -> None:
        """Forget every mask and replay the prompts that are left (after an undo or a clear)."""
        self.session.reset_tracking_data()
        self.masks = {}
        self.propagated = False
        self.version += 1
        self.prompts = {k: p for k, p in self.prompts.items() if p.points or p.box}
        for key in sorted(self.prompts):
            self._run_prompt(self.prompts[key])

    def undo(self, frame: int, obj: int) -> None:
        """Remove the latest click of ``obj`` on ``frame`` (or its box, when no click is left)."""
        p = self.prompts.get((frame, obj))
        if p is None:
            return
        if p.points:
            p.points.pop()
        else:
            p.box = None
        self.rebuild()

    def clear(self) -> None:
        self.prompts = {}
        self.rebuild()

    def propagate(self, progress: Callable[[int, int], None] | None = None) -> float:
        """Follow every prompted object through the whole clip: forward from the first conditioning frame,
        then backward to the start. Returns the seconds it took; ``progress(done, total)`` after each frame."""
        anchors = self.conditioning_frames()
        if not anchors:
            raise ValueError("Add a click or a box on some frame first.")
        start = time.perf_counter()
        total = self.num_frames + anchors[0]  # forward from the first anchor, then back from it
        done = 0
        for reverse in (False, True):
            if reverse and anchors[0] == 0:
                break
            for out in self._iterate(anchors[0], reverse):
                self.masks[int(out.frame_idx)] = self._to_masks(out)
                done += 1
                if progress:
                    progress(min(done, total), total)
        self.propagated = True
        self.version += 1
        return time.perf_counter() - start

    def _iterate(self, first: int, reverse: bool) -> Iterator:
        with torch.inference_mode():
            yield from self.model.propagate_in_video_iterator(self.session, start_frame_idx=first, reverse=reverse)
