"""Retraining from /admin: `hcc train` in the background, its progress, then the new model swapped into
the running Rasa (PUT /model on its loopback API) without a restart. One job at a time per gateway."""
from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.settings import get_settings

HCC = Path(sys.executable).with_name("hcc")
TAIL = 20  # output lines kept for the page
MODEL_LINE = re.compile(r"Mô hình (mới|không đổi): (\S+\.tar\.gz)")
# What `hcc train` prints as it goes, in order, and what the page says meanwhile.
PHASES = (("Training NLU model", "Đang huấn luyện phần hiểu ngôn ngữ"),
          ("Training Core model", "Đang huấn luyện phần hội thoại"),
          ("Processed trackers", "Đang huấn luyện phần hội thoại"),
          ("trained and saved", "Đã lưu mô hình"))
SWAP_TIMEOUT = 300.0  # Rasa loads a model in ~10 s; the full catalogue's search index adds a few


@dataclass
class TrainJob:
    actor: str
    state: str = "running"  # running | swapping | done | failed
    phase: str = "Đang chuẩn bị dữ liệu huấn luyện"
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    model: str | None = None
    swapped: bool = False
    error: str | None = None
    tail: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        end = self.finished_at or time.time()
        return {"state": self.state, "phase": self.phase, "actor": self.actor, "started_at": self.started_at,
                "finished_at": self.finished_at, "seconds": round(end - self.started_at, 1), "model": self.model,
                "swapped": self.swapped, "error": self.error, "tail": self.tail[-TAIL:]}


_lock = threading.Lock()
_job: TrainJob | None = None


def current() -> TrainJob | None:
    return _job


def start(actor: str, force: bool = False, command: list[str] | None = None) -> tuple[TrainJob, bool]:
    """The running job, or a new one started now; the flag says whether it was started by this call."""
    global _job
    with _lock:
        if _job is not None and _job.state in ("running", "swapping"):
            return _job, False
        _job = TrainJob(actor)
        job = _job
    argv = command or [str(HCC), "train", *(["--force"] if force else [])]
    threading.Thread(target=_run, args=(job, argv), name="hcc-train", daemon=True).start()
    return job, True


def _run(job: TrainJob, argv: list[str]) -> None:
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   encoding="utf-8", errors="replace", bufsize=1)
        for line in process.stdout:  # type: ignore[union-attr]
            _follow(job, line.rstrip())
        if process.wait() != 0:
            raise RuntimeError(f"hcc train dừng với mã {process.returncode}")
        if job.model is None:
            raise RuntimeError("hcc train không cho biết mô hình")
        if job.state == "swapping":
            swap(job.model)
            job.swapped = True
        job.phase, job.state = ("Đã nạp mô hình mới vào trợ lý ảo" if job.swapped else "Mô hình không đổi"), "done"
    except Exception as error:  # the page shows why; the running model stays
        job.state, job.error = "failed", str(error)
        job.phase = "Huấn luyện không thành công; trợ lý ảo vẫn dùng mô hình cũ"
    finally:
        job.finished_at = time.time()


def _follow(job: TrainJob, line: str) -> None:
    # Progress bars redraw with carriage returns; keep the last state of each.
    line = line.split("\r")[-1].strip()
    if not line:
        return
    job.tail = [*job.tail[-(TAIL - 1):], line]
    for marker, phase in PHASES:
        if marker in line:
            job.phase = phase
    found = MODEL_LINE.search(line)
    if found:
        job.model = found.group(2)
        if found.group(1) == "mới":
            job.state, job.phase = "swapping", "Đang nạp mô hình mới vào trợ lý ảo"


def swap(model: str) -> None:
    """Load ``model`` into the running Rasa; it keeps answering with the old one until the new is ready."""
    response = httpx.put(f"{get_settings().rasa_url}/model", json={"model_file": str(Path(model).resolve())},
                         timeout=SWAP_TIMEOUT)
    if response.status_code != 204:
        raise RuntimeError(f"Rasa không nạp được mô hình (mã {response.status_code}): {response.text[:200]}")
