"""Every shell script answers --help (exit 0, a usage text) and fails loudly on bad input."""

import pathlib
import subprocess

import pytest

SCRIPT_DIR = pathlib.Path(__file__).resolve().parents[1] / "scripts"
SCRIPTS = sorted(SCRIPT_DIR.rglob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(SCRIPT_DIR)))
def test_script_has_help(script):
    proc = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage" in proc.stdout.lower() or "scripts/" in proc.stdout


@pytest.mark.parametrize("script, argv, message", [
    ("glue/finetune.sh", ["RTF", "std", "1"], "unknown GLUE task 'RTF'"),
    ("glue/download.sh", ["--from-dir", "/nonexistent"], "--from-dir /nonexistent: no such directory"),
    ("glue/cpu_results.sh", ["--glue-dir", "/nonexistent"], "--glue-dir /nonexistent: no such directory"),
    ("xnli/xnli.sh", ["evaluate", "--checkpoint", "/nonexistent.pt", "--xnli-bin", "x", "--out", "y"],
     "--checkpoint /nonexistent.pt: no such file"),
    ("bench/cost.sh", ["--updates", "0"], "--updates must be >= 1"),
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
