"""Extension points: one registry mechanism for proposers, providers, strategies
and run backends; third-party plugins through entry points; the Evaluator protocol."""

from __future__ import annotations

import inspect
import io
import sys
import textwrap
from pathlib import Path

import pytest

from cudarwin.agent.llm.providers import PROVIDERS
from cudarwin.agent.optimize import run_optimize
from cudarwin.agent.proposers import PROPOSERS, proposer_setup
from cudarwin.agent.search.base import STRATEGIES, make_strategy
from cudarwin.backends import BACKENDS, Evaluator
from cudarwin.cli import main
from cudarwin.config import compose_config
from cudarwin.registry import Registry
from cudarwin.results import Archive
from cudarwin.types import CudarwinError
from fakes.evaluator import FakeEvaluator
from fakes.scripts import TASK_TEMPLATE

TASK = Path(__file__).parent / "fakes" / "tasks" / "scaled_relu.py"

PLUGIN = '''
import torch
from cudarwin.agent.proposer import Proposal
from cudarwin.agent.proposers import BuiltProposer
from cudarwin.types import Candidate

SOURCE = "import torch.nn as nn\\nFAKE = \\"accept {speed}\\"\\nclass ModelNew(nn.Module):\\n    def forward(self, x):\\n        return x\\n"


class EchoProposer:
    name = "echo"

    def __init__(self, speed):
        self.speed = speed

    async def propose(self, request):
        return [Proposal(Candidate(SOURCE.format(speed=self.speed), proposer="echo"), proposer="echo")]


class EchoSetup:
    def __init__(self, speed=2.0):
        self.speed = speed

    def build(self, run):
        return BuiltProposer(EchoProposer(self.speed))
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An installed distribution declaring a proposer entry point, as a plugin would."""
    site = tmp_path / "site"
    (site / "echo_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "echo_plugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 0.1\n")
    (site / "echo_plugin-0.1.dist-info" / "entry_points.txt").write_text("[cudarwin.proposers]\necho = echo_plugin:EchoSetup\n")
    (site / "echo_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    yield "echo"
    sys.modules.pop("echo_plugin", None)


def test_builtin_names_of_every_extension_point():
    assert {"offline", "chat"} <= set(PROPOSERS.names())
    assert {"evolve", "translate", "repair", "autotune"} <= set(STRATEGIES.names())
    assert "openai" in PROVIDERS.names() and "local" in BACKENDS.names()
    assert BACKENDS.load("local").__name__ == "Evaluator"


def test_unknown_name_is_one_error_naming_the_choices():
    with pytest.raises(CudarwinError, match=r"unknown proposer 'ofline'.*llm\._target_ to one of: chat, offline"):
        PROPOSERS.load("ofline")
    with pytest.raises(CudarwinError, match=r"unknown run backend 'rey'.*runner\.backend to one of: local"):
        BACKENDS.load("rey")


def test_an_import_path_needs_no_registration():
    reg = Registry("thing", "cudarwin.test-things", {}, setting="x")
    assert reg.load("fakes.evaluator:FakeEvaluator") is FakeEvaluator
    assert reg.load("fakes.evaluator.FakeEvaluator") is FakeEvaluator  # Hydra's dotted spelling
    assert make_strategy({"_target_": "cudarwin.agent.search.evolve.Evolve", "generations": 1}).generations == 1
    with pytest.raises(CudarwinError, match=r"cannot import the thing 'fakes\.evaluator:Nope'"):
        reg.load("fakes.evaluator:Nope")


def test_bad_keys_are_named():
    with pytest.raises(CudarwinError, match="generatoins"):
        make_strategy({"_target_": "evolve", "generatoins": 3})
    with pytest.raises(CudarwinError, match=r"unknown key\(s\) \['bogus'\] for the offline proposer"):
        proposer_setup({"_target_": "offline", "bogus": 1})
    with pytest.raises(CudarwinError, match="llm: .*modle"):
        proposer_setup({"_target_": "chat", "modle": "x"})


def test_run_folders_of_older_versions_still_name_their_proposer():
    assert type(proposer_setup({"kind": "offline", "_target_": "cudarwin.agent.offline.OfflineProposer"})).__name__ == "OfflineSetup"
    setup = proposer_setup({"kind": "chat", "model": "m", "base_url": "http://localhost:1/v1"})
    assert [s.model for s in setup.specs] == ["m"]


@pytest.mark.parametrize("override, named", [
    ("llm._target_=ofline", "ofline"), ("search._target_=evolv", "evolv"), ("runner.backend=rey", "rey"),
])
def test_an_unknown_name_fails_before_a_run_folder(capsys, tmp_path: Path, override: str, named: str):
    run_dir = tmp_path / "run"
    assert main(["optimize", override, "runner=smoke", f"suite.name={TASK}", f"run_dir={run_dir}"]) == 2
    err = capsys.readouterr().err
    assert named in err and "one of:" in err and "Traceback" not in err
    assert not run_dir.exists()


def _suite(tmp_path: Path) -> Path:
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "t_plugin.py").write_text(TASK_TEMPLATE.format(k=3))
    return folder


def test_a_third_party_proposer_and_backend_run_a_search(plugin: str, tmp_path: Path):
    """The plugin is found through its entry point; the backend by its import path."""
    assert plugin in PROPOSERS.names()
    cfg = compose_config([
        f"llm._target_={plugin}", "+llm.speed=3.0", "search=translate", "runner=smoke",
        "runner.backend=fakes.evaluator:fake_backend", f"suite.name={_suite(tmp_path)}",
        f"run_dir={tmp_path / 'run'}", "progress=off", "report=false",
    ])
    result = run_optimize(cfg, out=io.StringIO())
    assert result.evaluations_run == 1 and result.stats[0].best_fitness == pytest.approx(3.0)
    with Archive.open(tmp_path / "run", readonly=True) as archive:
        best = archive.best("t_plugin")
        assert best is not None
        candidate, evaluation = best
        assert candidate.proposer == "echo" and evaluation.fitness == pytest.approx(3.0)


def _conforms(impl: object) -> None:
    assert isinstance(impl, Evaluator)
    for name in ("evaluate", "baseline", "missing_compile", "precompile", "close", "__enter__", "__exit__"):
        wanted = inspect.signature(getattr(Evaluator, name))
        have = inspect.signature(getattr(impl, name))
        args = [p for p in wanted.parameters.values() if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD]
        have.bind(*[object()] * len(args))  # positional, as the search calls them
        have.bind(**{p.name: object() for p in args})  # and by the protocol's names
    assert hasattr(impl.config, "device") and isinstance(impl.config.baselines, tuple)


def test_the_fake_evaluator_implements_the_protocol():
    _conforms(FakeEvaluator())


def test_the_local_evaluator_implements_the_protocol():
    from cudarwin.runner import EvalConfig

    with BACKENDS.load("local")(EvalConfig(device="cpu", spare_workers=0)) as ev:
        _conforms(ev)
        assert ev.gpu is None


def test_the_conformance_check_catches_a_wrong_shape():
    class Narrow(FakeEvaluator):
        def baseline(self, task):  # the search passes (task, shape_index, mode)
            return None

    class Missing:
        config = FakeEvaluator().config
        gpu = None

    with pytest.raises(TypeError):
        _conforms(Narrow())
    with pytest.raises(AssertionError):
        _conforms(Missing())
