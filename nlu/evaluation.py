"""Score a model on a held-out NLU file, as written and with every diacritic stripped."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.textfold import fold


@dataclass
class Scores:
    accuracy: float
    macro_f1: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # text, gold, predicted

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def strip_diacritics(text: str) -> str:
    """How a hurried citizen types it: no marks, đ as d, case kept."""
    folded = fold(text)
    return "".join(f.upper() if c.isupper() else f for c, f in zip(text, folded)) if len(folded) == len(text) else folded


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs of a Rasa NLU file."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def score(predicted: list[str], gold: list[str]) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    # Averaged over the gold intents: a fallback prediction is a miss, not a class of its own.
    labels = sorted(set(gold))
    return accuracy_score(gold, predicted), f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)


def evaluate(agent, examples: list[tuple[str, str]], folded: bool = False) -> Scores:
    """Parse every example through ``agent`` (a Rasa Agent) and score its intents."""

    async def parse_all() -> tuple[list[str], list[float]]:
        names, times = [], []
        for text, _ in examples:
            started = time.perf_counter()
            result = await agent.parse_message(strip_diacritics(text) if folded else text)
            times.append((time.perf_counter() - started) * 1000)
            names.append(result["intent"]["name"])
        return names, times

    predicted, latencies = asyncio.run(parse_all())
    gold = [intent for _, intent in examples]
    accuracy, macro_f1 = score(predicted, gold)
    errors = [(text, g, p) for (text, g), p in zip(examples, predicted) if g != p]
    return Scores(accuracy, macro_f1, latencies, errors)
