"""`cudarwin optimize` configuration: Hydra groups, overrides, sweeps, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cudarwin.agent import build
from cudarwin.agent.llm.setup import model_specs
from cudarwin.cli import main
from cudarwin.config import compose_config, expand_multirun, split_sweep
from cudarwin.types import CudarwinError

TASK = Path(__file__).parent / "fakes" / "tasks" / "scaled_relu.py"


def test_defaults():
    cfg = compose_config([])
    assert cfg.llm._target_ == "offline" and cfg.suite.name == "quick" and cfg.runner.device == "auto"
    assert cfg.search._target_ == "evolve" and cfg.runner.backend == "local"


def test_overrides_pick_groups_and_keys():
    cfg = compose_config(["suite=quick", "llm=openai", "llm.model=gpt-4.1", "search.generations=20"])
    assert cfg.llm.model == "gpt-4.1" and cfg.search.generations == 20
    assert [s.model for s in model_specs(build.plain(cfg.llm))] == ["gpt-4.1"]


@pytest.mark.parametrize("preset", ["openai", "vllm", "sglang", "ollama", "openrouter"])
def test_llm_presets_build_models(preset: str):
    specs = model_specs(build.plain(compose_config([f"llm={preset}"]).llm))
    assert len(specs) == 1 and specs[0].base_url.startswith("http")


def test_several_weighted_models_inherit_top_level_fields():
    cfg = compose_config(["llm=openai", "llm.models={big: {model: a, weight: 1}, small: {model: b, weight: 3, price: {input: 0.1, output: 0.2}}}"])
    big, small = model_specs(build.plain(cfg.llm))
    assert (big.name, big.model, big.weight, big.price.input) == ("big", "a", 1.0, 2.0)
    assert (small.model, small.weight, small.price.output) == ("b", 3.0, 0.2)
    assert small.base_url == "https://api.openai.com/v1"


def test_unknown_model_key_is_named():
    cfg = compose_config(["llm=openai", "llm.models={big: {modle: a}}"])
    with pytest.raises(CudarwinError, match=r"llm.models.big has unknown key\(s\) \['modle'\]"):
        model_specs(build.plain(cfg.llm))


def test_bad_override_is_one_clear_error(capsys):
    assert main(["optimize", "search.generatoins=3"]) == 2
    err = capsys.readouterr().err
    assert "search.generatoins" in err and "Traceback" not in err


def test_sweep_expansion():
    assert split_sweep("llm.model=a,b") == ["llm.model=a", "llm.model=b"]
    assert split_sweep("suite.tasks=[a,b]") == ["suite.tasks=[a,b]"]
    assert expand_multirun(["x=1,2", "y=a,b"]) == [["x=1", "y=a"], ["x=1", "y=b"], ["x=2", "y=a"], ["x=2", "y=b"]]


def test_multirun_numbers_run_folders(capsys, tmp_path: Path):
    assert main(["optimize", "--multirun", "--cfg", "seed=1,2", f"run_dir={tmp_path}"]) == 0
    out = capsys.readouterr().out
    assert f"run_dir: {tmp_path}/0" in out and f"run_dir: {tmp_path}/1" in out
    assert "seed: 1" in out and "seed: 2" in out


def test_missing_api_key_names_the_variable(capsys, monkeypatch, tmp_path: Path):
    monkeypatch.delenv("CUDARWIN_TEST_NO_KEY", raising=False)
    args = ["optimize", "llm=openai", "llm.api_key_env=CUDARWIN_TEST_NO_KEY", "runner=smoke", f"suite.name={TASK}", f"run_dir={tmp_path / 'run'}"]
    assert main(args) == 2
    assert "CUDARWIN_TEST_NO_KEY" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_no_gpu_suggests_cpu(capsys):
    assert main(["optimize", f"suite.name={TASK}"]) == 2
    assert "runner.device=cpu" in capsys.readouterr().err


def test_resume_of_a_missing_folder(capsys, tmp_path: Path):
    assert main(["optimize", f"resume={tmp_path / 'nope'}"]) == 2
    assert "config.yaml" in capsys.readouterr().err


def test_unknown_suite_task(capsys):
    assert main(["optimize", "runner.device=cpu", "suite.tasks=[no_such_task]"]) == 2
    assert "no_such_task" in capsys.readouterr().err


def test_resume_refuses_group_changes_but_takes_keys(tmp_path: Path):
    from cudarwin.config import load_saved_config, to_yaml

    (tmp_path / "config.yaml").write_text(to_yaml(compose_config(["llm=openai"])))
    with pytest.raises(CudarwinError, match="keeps its config groups"):
        load_saved_config(tmp_path, ["llm=vllm"])
    cfg = load_saved_config(tmp_path, [f"resume={tmp_path}", "llm.budget.max_dollars=50"])
    assert cfg.llm.budget.max_dollars == 50 and cfg.llm.model == "gpt-4.1"
