import pytest

from common.config import ConfigError, env_bool, env_int, env_list, env_str


def test_required_value_names_the_variable(monkeypatch):
    monkeypatch.delenv("SOME_SECRET", raising=False)
    with pytest.raises(ConfigError, match="SOME_SECRET is required"):
        env_str("SOME_SECRET")


def test_typed_values_and_defaults(monkeypatch):
    monkeypatch.setenv("N", "12")
    monkeypatch.setenv("B", "yes")
    monkeypatch.setenv("L", "a, b,,c")
    assert env_int("N", 1) == 12
    assert env_int("MISSING_N", 3) == 3
    assert env_bool("B", False) is True
    assert env_list("L") == ("a", "b", "c")


def test_invalid_values_are_refused_with_the_name(monkeypatch):
    monkeypatch.setenv("N", "douze")
    monkeypatch.setenv("B", "peut-être")
    with pytest.raises(ConfigError, match="N must be an integer"):
        env_int("N", 1)
    with pytest.raises(ConfigError, match="B must be true or false"):
        env_bool("B", False)
    monkeypatch.setenv("N", "0")
    with pytest.raises(ConfigError, match="at least 1"):
        env_int("N", 5, minimum=1)
