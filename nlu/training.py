"""Train and load the Rasa model of this project, in-process."""
from __future__ import annotations

import hashlib
import logging
import os
import sys
import warnings
from pathlib import Path

from bot.settings import PROJECT_ROOT

MODELS = PROJECT_ROOT / "models"


def prepare_rasa() -> None:
    """What every process that runs Rasa needs: no telemetry, quiet SQLAlchemy, our components importable,
    and the cheaper turn: graphs run in-line, action server connections kept alive, event classes and rules
    looked up with less work, a loaded model kept out of the garbage collector's full passes."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    # TensorFlow, which Rasa imports, also imports JAX when installed (TensorFlow requires it) for a model
    # converter nothing here uses: 100 MB in every Rasa process. Its import is guarded, so it does without.
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Rasa imports TensorFlow; its start-up chatter is noise
    warnings.filterwarnings("ignore", message=".*MovedIn20Warning.*")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # else every parse is printed at debug level
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    from nlu import action_endpoint, action_schema, event_types, graph_runner, loaded_model, rule_lookup

    action_schema.install()
    action_endpoint.install()
    event_types.install()
    graph_runner.install()
    rule_lookup.install()
    loaded_model.install()


KEEP_MODELS = 3


def fingerprint(config: Path, data: Path) -> str:
    """A hash of everything a model is made from: config, domain, data, our components and tables."""
    sources = [config, PROJECT_ROOT / "domain.yml", *sorted(data.rglob("*.yml")), *sorted((PROJECT_ROOT / "nlu").glob("*.py")),
               *sorted((PROJECT_ROOT / "nlu").glob("*.yaml")), PROJECT_ROOT / "knowledge_base" / "lexicon.yaml"]
    digest = hashlib.sha256()
    for source in sources:
        if source.exists():
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def _stamp(model: Path) -> Path:
    return model.with_name(model.name.removesuffix(".tar.gz") + ".fingerprint")


def train(force: bool = False, output: Path = MODELS, config: Path = PROJECT_ROOT / "config.yml",
          data: Path = PROJECT_ROOT / "data", fixed_model_name: str | None = None) -> Path:
    """Train when config, domain, data or components changed since the newest model (or when forced)."""
    prepare_rasa()
    wanted = fingerprint(config, data)
    newest = latest_model(output)
    if not force and newest is not None and _stamp(newest).exists() and _stamp(newest).read_text() == wanted:
        return newest
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
    model = Path(result.model)
    _stamp(model).write_text(wanted)
    for old in sorted(output.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)[:-KEEP_MODELS]:
        old.unlink()
        _stamp(old).unlink(missing_ok=True)
    return model


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
