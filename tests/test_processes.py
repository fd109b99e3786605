"""What `hcc run` starts: the generated endpoints file, the supervisor of the child processes, no model."""
from __future__ import annotations

import sys
import time

from click.testing import CliRunner

from bot.cli import main
from bot.processes import Child, Supervisor, child_env, write_endpoints
from bot.settings import PROJECT_ROOT, get_settings

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def test_rasa_reads_the_action_server_port_from_the_generated_endpoints(hcc_env, monkeypatch):
    from rasa.core.utils import AvailableEndpoints

    monkeypatch.setenv("HCC_ACTION_PORT", "6123")
    get_settings.cache_clear()
    path = write_endpoints(get_settings())
    assert path.is_relative_to(get_settings().var_dir)
    assert AvailableEndpoints.read_endpoints(str(path)).action.url == "http://127.0.0.1:6123/webhook"


def test_children_find_our_packages_and_bind_to_loopback(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = child_env()
    assert env["PYTHONPATH"].split(":") == [str(PROJECT_ROOT), "/elsewhere"]
    assert env["SANIC_HOST"] == "127.0.0.1" and env["RASA_TELEMETRY_ENABLED"] == "false"


def test_the_supervisor_restarts_a_child_that_dies_and_stops_them_all():
    supervisor = Supervisor([Child("one", SLEEPER), Child("two", SLEEPER)])
    supervisor.start()
    try:
        first = supervisor.children[0].process
        first.kill()
        first.wait()
        deadline = time.monotonic() + 10
        while supervisor.children[0].process is first and time.monotonic() < deadline:
            time.sleep(0.1)
        assert supervisor.children[0].process is not first and supervisor.children[0].process.poll() is None
        assert supervisor.children[0].restarts == 1
    finally:
        supervisor.stop()
    assert all(child.process.poll() is not None for child in supervisor.children)


def test_without_a_model_hcc_run_tells_the_user_to_train(hcc_env, monkeypatch):
    import nlu.training

    monkeypatch.setattr(nlu.training, "latest_model", lambda *args: None)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    assert "hcc train" in result.output and "Chưa có mô hình" in result.output
