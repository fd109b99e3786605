"""NLU benchmark: Rasa's stock DIET pipeline against ours, on the same train/test split, in one run.

Prints, for each pipeline: train time and peak memory, intent accuracy and macro-F1 on
tests/nlu_test.yml as written and with every diacritic stripped, in-process parse latency, and
for the Rasa server: seconds until ready, resident memory, /model/parse latency p50/p95.
Each training and each server runs in its own process so their memory is their own, all on a database of
their own holding the full shared catalogue and FAQ (the procedure extractor searches it on every parse).

    .venv/bin/python bench/nlu.py [--quick]   # --quick: ours only, no server
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STOCK = """
recipe: default.v1
language: vi
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
    constrain_similarities: true
policies: []
"""


def ours(segmenter: str | None = None) -> str:
    text = (ROOT / "config.yml").read_text(encoding="utf-8")
    return text.replace("segmenter: dictionary", f"segmenter: {segmenter}") if segmenter else text


def child(args: list[str], env: dict | None = None) -> dict:
    """Run this script in a child process and read the JSON it prints last."""
    output = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=ROOT)
    if output.returncode != 0:
        raise RuntimeError(output.stderr[-3000:])
    return json.loads(output.stdout.strip().splitlines()[-1])


def do_train(config: str, out: str) -> None:
    from nlu.training import prepare_rasa

    prepare_rasa()
    from rasa.model_training import train_nlu

    started = time.perf_counter()
    model = train_nlu(config=config, nlu_data=str(ROOT / "data" / "nlu.yml"), output=out, fixed_model_name="bench")
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"model": model, "train_s": seconds, "train_peak_mb": peak_mb}))


def do_evaluate(model: str) -> None:
    import logging

    from nlu.evaluation import evaluate, load_examples
    from nlu.training import load_agent

    logging.disable(logging.WARNING)
    agent = load_agent(Path(model))
    examples = load_examples(ROOT / "tests" / "nlu_test.yml")
    written, folded = evaluate(agent, examples), evaluate(agent, examples, folded=True)
    print(json.dumps({
        "acc": written.accuracy, "f1": written.macro_f1, "acc_bare": folded.accuracy, "f1_bare": folded.macro_f1,
        "inproc_p50": written.percentile(50), "inproc_p95": written.percentile(95),
    }))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# Stock Rasa as Rasa ships it; ours as `hcc run` starts it (bot/rasa_server.py).
SERVERS = {"stock DIET": [str(ROOT / ".venv" / "bin" / "rasa")],
           "ours (dictionary)": [sys.executable, "-m", "bot.rasa_server"]}


def measure_server(server: list[str], model: str, messages: list[str], env: dict[str, str], timeout: float = 120) -> dict:
    import httpx

    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [*server, "run", "--enable-api", "-m", model, "-i", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**env, "RASA_TELEMETRY_ENABLED": "false"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        ready = None
        while time.perf_counter() - started < timeout:
            try:
                if httpx.get(f"{url}/status", timeout=1).status_code == 200:
                    ready = time.perf_counter() - started
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        if ready is None:
            return {"ready_s": None}
        with httpx.Client(timeout=10) as client:
            for text in messages[:20]:  # warm-up
                client.post(f"{url}/model/parse", json={"text": text})
            times = []
            for text in messages * 2:
                t = time.perf_counter()
                client.post(f"{url}/model/parse", json={"text": text}).raise_for_status()
                times.append((time.perf_counter() - t) * 1000)
        times.sort()
        return {"ready_s": ready, "rss_mb": resident_mb(process.pid), "http_p50": times[len(times) // 2], "http_p95": times[int(len(times) * 0.95)]}
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--train", nargs=2, metavar=("CONFIG", "OUT"))
    parser.add_argument("--evaluate", metavar="MODEL")
    args = parser.parse_args()
    if args.train:
        return do_train(*args.train)
    if args.evaluate:
        return do_evaluate(args.evaluate)

    from nlu.evaluation import load_examples

    messages = [text for text, _ in load_examples(ROOT / "tests" / "nlu_test.yml")]
    pipelines = {"ours (dictionary)": ours()}
    if not args.quick:
        pipelines = {"stock DIET": STOCK, **pipelines, "ours, syllables only": ours("syllable"), "ours, underthesea": ours("underthesea")}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        from conversation import build_database

        database = {**os.environ, "HCC_DATABASE_URL": f"sqlite:///{tmp}/hcc.db", "HCC_VAR_DIR": f"{tmp}/var"}
        build_database(database)
        for name, config in pipelines.items():
            path = Path(tmp) / f"{len(rows)}.yml"
            path.write_text(config, encoding="utf-8")
            # A fresh cache directory: Rasa would otherwise reuse components trained earlier.
            cache = {**database, "RASA_CACHE_DIRECTORY": str(Path(tmp) / f"cache{len(rows)}")}
            trained = child(["--train", str(path), str(Path(tmp) / f"m{len(rows)}")], env=cache)
            row = {**trained, **child(["--evaluate", trained["model"]], env=database)}
            if not args.quick and name in SERVERS:
                row.update(measure_server(SERVERS[name], trained["model"], messages, database))
            rows[name] = row
            print(f"... {name} done", file=sys.stderr)

    print(f"\nNLU benchmark — train {len(load_examples(ROOT / 'data' / 'nlu.yml'))} examples, test {len(messages)} (tests/nlu_test.yml), {os.cpu_count()} cores")
    header = f"{'pipeline':24} {'train s':>8} {'peak MB':>8} {'acc':>6} {'F1':>6} {'acc¬d':>6} {'F1¬d':>6} {'parse p50/p95 ms':>17} {'ready s':>8} {'RSS MB':>7} {'/model/parse p50/p95':>21}"
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        server = (f"{r['ready_s']:8.1f} {r['rss_mb']:7.0f} {r['http_p50']:10.1f}/{r['http_p95']:<10.1f}" if r.get("ready_s") else f"{'-':>8} {'-':>7} {'-':>21}")
        print(f"{name:24} {r['train_s']:8.1f} {r['train_peak_mb']:8.0f} {r['acc']:6.3f} {r['f1']:6.3f} {r['acc_bare']:6.3f} {r['f1_bare']:6.3f} "
              f"{r['inproc_p50']:8.1f}/{r['inproc_p95']:<8.1f} {server}")
    print("¬d: the test split with every diacritic stripped. Targets: macro-F1 ≥ 0.95, ≤ 0.02 lower without diacritics; "
          "train ≤ 60 s; /model/parse p95 ≤ 15 ms; ready ≤ 20 s with ≤ 1 GB resident.")


if __name__ == "__main__":
    main()
