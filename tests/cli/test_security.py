"""Security rules: the Dask dashboard stays on this machine unless asked, user files are never
unpickled or evaluated, and modules are imported only from fixed tables."""

from __future__ import annotations

import ast
from contextlib import ExitStack
from pathlib import Path

import pytest

from conftest import refused, run
from jointeffects import _LAZY
from jointeffects.cli.main import COMMANDS
from jointeffects.estimate.estimators.registry import REGISTRY
from jointeffects.experiments import runner

SRC = Path(__file__).resolve().parents[2] / "src" / "jointeffects"


class _Fake:
    """Stands in for LocalCluster and Client, recording how the cluster was asked for."""

    calls: list[dict] = []

    def __init__(self, *args, **kwargs):
        _Fake.calls.append(kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture()
def fake_cluster(monkeypatch):
    import distributed

    _Fake.calls = []
    monkeypatch.setattr(distributed, "LocalCluster", _Fake)
    monkeypatch.setattr(distributed, "Client", _Fake)
    return _Fake.calls


def test_the_dashboard_listens_on_this_machine_only_by_default(fake_cluster):
    with ExitStack() as stack:
        stack.enter_context(runner.dask_client(None, 1))
    assert fake_cluster[0]["dashboard_address"].startswith("127.0.0.1:")
    assert runner.DASHBOARD == "127.0.0.1:0"


def test_the_dashboard_can_be_exposed_on_purpose(fake_cluster):
    with runner.dask_client(None, 1, "0.0.0.0:8787"):
        pass
    assert fake_cluster[0]["dashboard_address"] == "0.0.0.0:8787"


def test_the_dashboard_option_is_documented():
    help_text = run(["reproduce", "--help"]).output
    assert "--dashboard" in help_text and "127.0.0.1" in help_text and "0.0.0.0" in help_text


@pytest.mark.parametrize("address", ["everywhere", ":::", "host:port", "1.2.3.4:99999999"])
def test_bad_dashboard_addresses_are_refused_before_any_store(tmp_path, address):
    refused(["reproduce", "fig2a", "--scale", "tiny", "--out", tmp_path / "r", "--dashboard",
             address], "not HOST:PORT", tmp_path)  # fmt: skip


def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            # attribute calls keep their object: re.compile is not the builtin compile
            name = f".{func.attr}" if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            out.append((name, node))
    return out


def _modules():
    return {path: ast.parse(path.read_text()) for path in SRC.rglob("*.py")}


def test_no_pickle_marshal_or_eval_anywhere_in_the_package():
    banned_modules = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}
    banned_calls = {"eval", "exec", "compile", "__import__", ".read_pickle", ".to_pickle"}
    found = []
    for path, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                found += [
                    f"{path.name}: import {n}" for n in names if n.split(".")[0] in banned_modules
                ]
        for name, call in _calls(tree):
            if name in banned_calls:
                found.append(f"{path.name}:{call.lineno}: {name}()")
            if name in ("load", ".load") and any(k.arg == "allow_pickle" for k in call.keywords):
                found.append(f"{path.name}:{call.lineno}: load(allow_pickle=...)")
    assert found == []


def test_importlib_imports_only_names_from_the_fixed_command_table():
    sites = []
    for path, tree in _modules().items():
        for name, call in _calls(tree):
            if name.lstrip(".") in ("import_module", "__import__", "spec_from_file_location"):
                sites.append((path.relative_to(SRC).as_posix(), ast.unparse(call.args[0])))
    # the only dynamic imports: the package's lazy exports, the CLI's command table and the
    # estimator registry's fixed table
    assert sorted(sites) == [
        ("__init__.py", "_LAZY[name]"),
        ("cli/main.py", "module"),
        ("estimate/estimators/registry.py", "entry.module"),
    ]
    assert all(e.module.startswith("jointeffects.estimate.estimators.") for e in REGISTRY.values())
    assert "COMMANDS[cmd_name][0].partition" in (SRC / "cli" / "main.py").read_text()
    assert "if name in _LAZY:" in (SRC / "__init__.py").read_text()
    assert all(target.startswith("jointeffects.cli.") for target, _ in COMMANDS.values())
    assert all(module.startswith("jointeffects.") for module in _LAZY.values())


def test_an_unknown_command_imports_nothing():
    result = run(["os:system"])
    assert result.exit_code == 2 and "No such command" in result.output
