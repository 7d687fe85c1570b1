"""Issue 20's failures replayed: a wrong DATABASE_URL, a busy port, a missing model, an
unreadable data file each stop with one French line naming the setting or the file, a
non-zero exit code and no traceback — the three launchers and the tool alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import (
    GATEWAY_PYTHON,
    RASA_PYTHON,
    assert_one_line,
    assistant,
    base_env,
    closed_port,
    run,
)

LAUNCHERS = {
    "gateway": ([str(GATEWAY_PYTHON), "-m", "integrations"], "GATEWAY_PORT"),
    "actions": ([str(RASA_PYTHON), "-m", "actions.server"], "ACTIONS_PORT"),
    "rasa": ([str(RASA_PYTHON), "-m", "rasa_ext.serve"], "RASA_PORT"),
}


@pytest.fixture(name="closed_port")
def a_closed_port() -> int:
    return closed_port()


def launcher_env(database: str, model: Path, **settings: str) -> dict[str, str]:
    return base_env(DATABASE_URL=database, RASA_MODEL=str(model), **settings)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """Something where a model is expected: the launchers stop before loading it."""
    path = tmp_path / "20261201-120000-test.tar.gz"
    path.write_bytes(b"")
    return path


WRONG_URLS = {
    "unreachable": "postgresql://assistant:motdepasse@127.0.0.1:{port}/assistant",
    "postgres_scheme": "postgres://assistant:motdepasse@127.0.0.1:{port}/assistant",
    "malformed": "pas une adresse",
    "unknown_kind": "mongodb://127.0.0.1/assistant",
}


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
@pytest.mark.parametrize("kind", sorted(WRONG_URLS))
def test_a_wrong_database_url_is_one_line_naming_it(
    launcher: str, kind: str, closed_port: int, model: Path
) -> None:
    command, _ = LAUNCHERS[launcher]
    url = WRONG_URLS[kind].format(port=closed_port)
    result = run(command, launcher_env(url, model))
    line = assert_one_line(result, "DATABASE_URL")
    assert result.returncode == 2
    assert "motdepasse" not in line
    if kind in ("unreachable", "postgres_scheme"):
        # postgres:// is PostgreSQL: the server is asked, and does not answer.
        assert "injoignable" in line and str(closed_port) in line


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_a_busy_port_is_one_line_naming_its_setting(
    launcher: str, busy_port: int, database: str, model: Path
) -> None:
    command, setting = LAUNCHERS[launcher]
    result = run(command, launcher_env(database, model, **{setting: str(busy_port)}))
    line = assert_one_line(result, setting, str(busy_port), "déjà utilisé")
    assert result.returncode == 2 and line.count("Traceback") == 0


def test_rasa_without_a_model_names_rasa_model(database: str, tmp_path: Path) -> None:
    empty = tmp_path / "no-models"
    empty.mkdir()
    result = run(LAUNCHERS["rasa"][0], launcher_env(database, empty))
    assert_one_line(result, "RASA_MODEL", "make train", str(empty))


def test_the_tool_names_database_url(closed_port: int) -> None:
    url = f"postgres://assistant:motdepasse@127.0.0.1:{closed_port}/assistant"
    for command in (["staff", "list"], ["admin", "inbox"], ["rooms", "show"]):
        result = assistant(*command, env=base_env(DATABASE_URL=url))
        line = assert_one_line(result, "DATABASE_URL", "injoignable")
        assert result.returncode == 2 and "motdepasse" not in line


def test_an_unreadable_data_file_is_named(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "lieux.csv"
    result = assistant("places", "import", str(missing), env=env)
    assert_one_line(result, str(missing), "illisible")
    assert result.returncode == 2
    empty = tmp_path / "data"
    empty.mkdir()
    result = assistant("rooms", "seed", env={**env, "DATA_DIR": str(empty)})
    assert_one_line(result, "rooms.yml", "DATA_DIR")


def test_a_malformed_env_file_line_is_named(env: dict[str, str]) -> None:
    # The checkout's .env is the one the tool reads: a wrong line there, not a traceback.
    # (Simulated through the parser the tool uses, on a file of the test's own.)
    from common.config import ConfigError, read_dotenv

    path = Path(env["ADMIN_MODELS_DIR"]).parent / ".env"
    path.write_text("RASA_PORT=5005\nceci n'est pas un réglage\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.env, ligne 2"):
        read_dotenv(path)


def test_a_wrong_value_and_a_usage_error_are_one_line(env: dict[str, str]) -> None:
    result = assistant("admin", "inbox", env={**env, "GATEWAY_PORT": "huit"})
    assert_one_line(result, "GATEWAY_PORT")
    result = assistant("staff", "ajouter", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "choix invalide" in result.stderr
