"""Conversation benchmark: full-turn latency through the gateway next to Rasa's own REST webhook, same run.

Builds a SQLite database with the full shared catalogue and FAQ (``HCC_SHARED_DATA``, default
``../shared/data``) plus the demo data, trains (or reuses) the model in models/, starts the stack
with `hcc run` on free loopback ports, then plays the same short conversations through both
webhooks, turn by turn alternately, each conversation under a fresh sender id.

    .venv/bin/python bench/conversation.py [--rounds 20]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "tests"))  # the stack harness the end-to-end tests use

from bot.settings import get_settings  # noqa: E402
from nlu.training import latest_model  # noqa: E402
from stack import Stack, hcc, running, stack_env  # noqa: E402

TARGET_P95_MS = 60.0
PATHS = ("gateway", "rasa")


def data_dir() -> Path:
    return Path(os.environ.get("HCC_SHARED_DATA") or PROJECT_ROOT.parent / "shared" / "data")


def tracking_codes(count: int = 3) -> list[str]:
    dossiers = yaml.safe_load((PROJECT_ROOT / "knowledge_base" / "demo" / "dossiers.yaml").read_text(encoding="utf-8"))
    return [row["tracking_code"] for row in dossiers["dossiers"][:count]]


def conversations() -> list[list[str]]:
    """Short realistic conversations: procedure questions with and without diacritics, follow-ups, lookups."""
    first, second, third = tracking_codes()
    return [
        ["xin chào", "Làm hộ chiếu cần những giấy tờ gì?", "thế lệ phí bao nhiêu?", "cảm ơn"],
        ["dang ky khai sinh can giay to gi", "mat bao lau", "nop o dau"],
        ["Đăng ký kết hôn mất bao nhiêu ngày?", "còn đăng ký khai tử thì sao?"],
        ["cho tôi tra cứu hồ sơ", first],
        [f"hồ sơ {second} đến đâu rồi"],
        [f"tra cuu ho so {third}"],
        ["cap lai giay phep lai xe het han bao nhieu tien", "co nop online duoc khong"],
        ["Số điện thoại đường dây nóng của trung tâm là gì?", "tạm biệt"],
    ]


def build_database(env: dict[str, str]) -> str:
    """The full shared catalogue and FAQ, then the demo data over it; `hcc kb stats` of the result."""
    shared = data_dir()
    if not (shared / "catalogue").is_dir():
        sys.exit(f"the shared data folder {shared} is absent (set HCC_SHARED_DATA)")
    hcc(env, "kb", "import", str(shared / "catalogue"))
    hcc(env, "kb", "import", str(shared / "faq"))
    hcc(env, "kb", "demo", "--force")
    return hcc(env, "kb", "stats")


def is_apology(replies: list[dict]) -> bool:
    return any(get_settings().hotline in (reply.get("text") or "") and "gián đoạn" in (reply.get("text") or "") for reply in replies)


@dataclass
class Timings:
    turns: dict[str, list[float]] = field(default_factory=lambda: {path: [] for path in PATHS})
    by_message: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (path, text) → ms
    failures: dict[str, int] = field(default_factory=lambda: {path: 0 for path in PATHS})


def play(stack: Stack, rounds: int, label: str) -> Timings:
    """Milliseconds per turn on each path, and the turns that got no reply or the gateway's apology."""
    timings = Timings()
    for round_ in range(rounds):
        for number, conversation in enumerate(conversations()):
            for text in conversation:
                for path in PATHS:
                    started = time.perf_counter()
                    replies = stack.say(f"{label}-{round_}-{number}-{path}", text, via=path)
                    elapsed = (time.perf_counter() - started) * 1000
                    timings.turns[path].append(elapsed)
                    timings.by_message.setdefault((path, text), []).append(elapsed)
                    timings.failures[path] += not replies or is_apology(replies)
    return timings


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def report(result: Timings) -> None:
    timings, failures = result.turns, result.failures
    print(f"\n{'path':34} {'turns':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'no reply':>9}  target")
    names = {"gateway": "gateway POST /webhooks/rest/webhook", "rasa": "Rasa's own REST webhook"}
    for path in PATHS:
        values = timings[path]
        p95 = percentile(values, 95)
        target = (f"p95 ≤ {TARGET_P95_MS:.0f} ms: {'met' if p95 <= TARGET_P95_MS else 'MISSED'}"
                  if path == "gateway" else "(reference)")
        print(f"{names[path]:34} {len(values):>6} {percentile(values, 50):>8.1f} {p95:>8.1f} {max(values):>8.1f} "
              f"{failures[path]:>9}  {target}")
    overhead = [g - r for g, r in zip(timings["gateway"], timings["rasa"])]
    print(f"{'gateway overhead (paired turns)':34} {len(overhead):>6} {statistics.median(overhead):>8.1f} "
          f"{percentile(overhead, 95):>8.1f}")
    print(f"\n{'message (p50 ms)':52} {'gateway':>8} {'rasa':>8}")
    texts = dict.fromkeys(text for conversation in conversations() for text in conversation)
    for text in texts:
        gateway, rasa = (statistics.median(result.by_message[(path, text)]) for path in PATHS)
        print(f"{text[:52]:52} {gateway:>8.1f} {rasa:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="times each conversation is played per path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hcc-bench-") as tmp:
        workdir = Path(tmp)
        env = stack_env(workdir)
        started = time.perf_counter()
        stats = build_database(env)
        print(f"database built in {time.perf_counter() - started:.1f} s: {' '.join(stats.split())}")
        hcc(env, "train")
        model = latest_model()
        started = time.perf_counter()
        with running(env, model, workdir, timeout=300) as stack:
            print(f"stack ready in {time.perf_counter() - started:.1f} s ({os.cpu_count()} CPUs); model {model.name}")
            play(stack, 1, "warmup")
            result = play(stack, args.rounds, "bench")
        report(result)


if __name__ == "__main__":
    main()
