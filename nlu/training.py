"""Train and load the Rasa model of this project, in-process."""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from bot.settings import PROJECT_ROOT

MODELS = PROJECT_ROOT / "models"


def prepare_rasa() -> None:
    """What every process that runs Rasa needs: no telemetry, quiet SQLAlchemy, our components importable."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    warnings.filterwarnings("ignore", message=".*MovedIn20Warning.*")
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))


def train(force: bool = False, output: Path = MODELS, config: Path = PROJECT_ROOT / "config.yml",
          data: Path = PROJECT_ROOT / "data", fixed_model_name: str | None = None) -> Path:
    """Train when config, domain or data changed since the newest model (or when forced)."""
    prepare_rasa()
    from rasa.model_training import train as rasa_train

    result = rasa_train(
        domain=str(PROJECT_ROOT / "domain.yml"),
        config=str(config),
        training_files=[str(data)],
        output=str(output),
        force_training=force,
        fixed_model_name=fixed_model_name,
    )
    if result.code != 0 or not result.model:
        raise RuntimeError(f"Rasa training failed (code {result.code})")
    return Path(result.model)


def latest_model(models: Path = MODELS) -> Path | None:
    found = sorted(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def load_agent(model: Path | None = None):
    """A Rasa Agent for ``model`` (default: the newest in models/)."""
    prepare_rasa()
    from rasa.core.agent import Agent

    model = model or latest_model()
    if model is None:
        raise FileNotFoundError("chưa có mô hình: chạy `hcc train` trước")
    return Agent.load(str(model))
