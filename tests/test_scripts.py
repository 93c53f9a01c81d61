"""Every shell script answers --help (exit 0, a usage text) and fails loudly on bad input."""

import importlib
import pathlib
import re
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SCRIPT_DIR = REPO / "scripts"
SCRIPTS = sorted(SCRIPT_DIR.rglob("*.sh"))


def test_every_script_is_thin_over_a_main_with_a_console_entry_point():
    """scripts/X.sh runs `python -m MODULE`; setup.py installs the same MODULE:main as a command."""
    entry_points = dict(re.findall(r'"([\w-]+) = ([\w.]+):main"', (REPO / "setup.py").read_text()))
    modules = set()
    for script in SCRIPTS:
        for module in re.findall(r"python -m (r3f_fairseq[\w.]*)", script.read_text()):
            assert callable(importlib.import_module(module).main), script
            modules.add(module)
            assert len(script.read_text().splitlines()) <= 15 or script.name == "cpu_results.sh", script
    assert modules - set(entry_points.values()) == set(), "scripts without a console entry point"
    for command, module in entry_points.items():
        assert callable(importlib.import_module(module).main), command


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(SCRIPT_DIR)))
def test_script_has_help(script):
    proc = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage" in proc.stdout.lower() or "scripts/" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("script, argv, message", [
    ("glue/finetune.sh", ["RTF", "std", "1"], "unknown GLUE task 'RTF'"),
    ("glue/download.sh", ["--from-dir", "/nonexistent"], "--from-dir /nonexistent: no such directory"),
    ("glue/cpu_results.sh", ["--glue-dir", "/nonexistent"], "--glue-dir /nonexistent: no such directory"),
    ("xnli/xnli.sh", ["evaluate", "--checkpoint", "/nonexistent.pt", "--xnli-bin", "x", "--out", "y"],
     "--checkpoint /nonexistent.pt: no such file"),
    ("bench/cost.sh", ["--updates", "0"], "--updates must be >= 1"),
    ("bench/rouge.sh", ["--pairs", "0"], "--pairs and --workers must be >= 1"),
    ("bench/jobs.sh", ["--configs", "2by1"], "--configs 2by1: not JOBSxTHREADS"),
    ("tables/walltime_figure.sh", ["--task", "SST-2", "--runs", "/nonexistent"], "--runs /nonexistent: no such directory"),
    ("glue/compare_methods.sh", ["--glue-dir", "/nonexistent"], "--glue-dir /nonexistent: no SST-2/train.tsv"),
    ("summarization/prepare.sh", ["cnn_dm", "--raw", "/nonexistent", "--bpe-dir", "x", "--out-dir", "y"],
     "--raw /nonexistent: no such directory"),
    ("summarization/finetune.sh", ["cnn_dm", "r3f", "1", "--data", "/nonexistent"],
     "--data /nonexistent: no dict.source.txt"),
    ("summarization/generate.sh", ["--checkpoint", "/nonexistent.pt", "--data", "x", "--source", "y", "--out", "z",
                                   "--bpe-dir", "w"], "--checkpoint /nonexistent.pt: no such file"),
    ("summarization/rouge.sh", ["--hyp", "/nonexistent", "--ref", "/nonexistent"], "/nonexistent"),
])
def test_script_rejects_bad_input(script, argv, message):
    proc = subprocess.run(["bash", str(SCRIPT_DIR / script), *argv], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and message in proc.stderr
