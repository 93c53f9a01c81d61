"""The plugin works however it is installed: a regular wheel, from a directory outside the checkout.

The slow tests install this checkout (non-editable) into a fresh venv, run from
a temporary directory with no PYTHONPATH, and use the commands exactly as the
README documents them: ``fairseq-train ... --user-dir "$(r3f-fairseq-user-dir)"``
and the README's ``fairseq-hydra-train`` block, read from README.md.

The venv (torch==2.13.0 first, then this package and its dependencies, about
1.5 GB and 2 minutes) is cached under $R3F_TEST_VENV_CACHE (default
<tmp>/r3f_fairseq-test-venvs), keyed by setup.py, Python and torch versions;
each session re-installs only this package from a fresh copy of the checkout,
holding a lock so that two sessions never share a venv at the same time.
"""

import fcntl
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

import pytest

from r3f_fairseq import user_dir
from tests.helpers import TINY_ROBERTA, json_logs

REPO = pathlib.Path(__file__).resolve().parents[1]
TORCH = "2.13.0"  # the build scripts/setup_env.sh installs first (a local CPU wheel on our machines)
# what setuptools needs besides the package directory; everything else in the checkout is left out
PACKAGE_FILES = ["setup.py", "README.md", "LICENSE"]
TINY_HYDRA = ["common.fp16=false", "common.cpu=true", "common.log_interval=1", "optimization.max_update=2",
              "model._name=roberta_base", "+model.encoder_layers=2", "+model.encoder_embed_dim=32",
              "+model.encoder_ffn_embed_dim=64", "+model.encoder_attention_heads=2", "task.max_positions=256"]


def copy_package(dest: pathlib.Path) -> pathlib.Path:
    """What `pip install <checkout>` builds from, copied so that no stale build/ of the checkout is reused."""
    dest.mkdir(parents=True)
    for name in PACKAGE_FILES:
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "r3f_fairseq", dest / "r3f_fairseq",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def readme_block(tool: str) -> str:
    """The README's one fenced bash block that runs `tool`, as one line (continuations joined)."""
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if re.match(rf"\s*{tool}\b", b)]
    assert len(found) == 1, f"expected one README block starting with {tool}, found {len(found)}"
    return found[0].replace("\\\n", " ").strip()


def test_wheel_ships_the_hydra_yaml_and_the_user_dir_script(tmp_path):
    source = copy_package(tmp_path / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "wheel"), str(source)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("r3f_fairseq-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    yaml = {str(p.relative_to(REPO)) for p in (REPO / "r3f_fairseq" / "configs").rglob("*.yaml")}
    assert "r3f_fairseq/configs/glue/rte_r4f.yaml" in yaml
    assert yaml <= names, f"YAML missing from the wheel: {sorted(yaml - names)}"
    assert "r3f-fairseq-user-dir = r3f_fairseq.user_dir:main" in entry_points


def test_user_dir_prints_the_package_and_its_configs(capsys):
    import r3f_fairseq

    user_dir.main([])
    assert capsys.readouterr().out == r3f_fairseq.USER_DIR + "\n"
    user_dir.main(["--config-dir"])
    configs = pathlib.Path(capsys.readouterr().out.strip())
    assert configs.is_absolute() and (configs / "glue" / "rte_r4f.yaml").is_file()


def pip(venv: pathlib.Path, *args: str) -> None:
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
    assert proc.returncode == 0, f"pip install {' '.join(args)} failed:\n{proc.stdout[-4000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A venv with this checkout pip-installed (not editable); yields its bin directory."""
    key = hashlib.sha256(b"%s|%s|%s" % ((REPO / "setup.py").read_bytes(), sys.version.encode(),
                                        TORCH.encode())).hexdigest()[:16]
    cache = pathlib.Path(os.environ.get("R3F_TEST_VENV_CACHE",
                                        pathlib.Path(tempfile.gettempdir()) / "r3f_fairseq-test-venvs"))
    cache.mkdir(parents=True, exist_ok=True)
    venv, ready = cache / key, cache / key / "r3f-test-venv-ready"
    source = copy_package(tmp_path_factory.mktemp("install") / "src")
    with open(cache / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held while the tests use the venv
        if ready.is_file():
            pip(venv, "--no-deps", "--force-reinstall", "--no-build-isolation", str(source))
        else:
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip(venv, f"torch=={TORCH}", "setuptools", "wheel")  # first and on its own: never a CUDA build
            pip(venv, "--no-build-isolation", str(source))
            ready.write_text(key)
        version = subprocess.run([str(venv / "bin" / "python"), "-c", "import torch; print(torch.__version__)"],
                                 capture_output=True, text=True, check=True).stdout
        assert version.startswith(TORCH), f"pip replaced torch: {version}"
        yield venv / "bin"


def run_outside(bin_dir: pathlib.Path, cwd: pathlib.Path, command: str) -> str:
    """Run a shell command in `cwd` with the venv first on PATH and no trace of the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(bin_dir.parent),
               PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=900)
    assert proc.returncode == 0, f"`{command}` failed ({proc.returncode}):\n{proc.stdout[-6000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def trained_outside(installed, rte_bin, tmp_path_factory):
    """The README's fairseq-train form, run from a directory outside the checkout: (directory, output)."""
    cwd = tmp_path_factory.mktemp("elsewhere")
    assert not cwd.resolve().is_relative_to(REPO)
    tiny = " ".join(TINY_ROBERTA)
    out = run_outside(installed, cwd, (
        f'fairseq-train {rte_bin} --user-dir "$(r3f-fairseq-user-dir)" {tiny} '
        "--num-classes 2 --criterion sentence_prediction_r3f --eps 1e-3 --r3f-lambda 0.5 --cpu "
        "--optimizer adam --lr 1e-4 --batch-size 8 --max-update 2 --log-format json --log-interval 1 "
        "--no-epoch-checkpoints"))
    return cwd, out


def test_readme_documents_the_user_dir_form():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert '--user-dir "$(r3f-fairseq-user-dir)"' in readme


@pytest.mark.slow
def test_fairseq_train_with_a_regular_install_from_anywhere(installed, trained_outside):
    cwd, out = trained_outside
    plugin = run_outside(installed, cwd, "r3f-fairseq-user-dir 2>/dev/null").strip()
    assert pathlib.Path(plugin).parts[-2:] == ("site-packages", "r3f_fairseq")
    assert pathlib.Path(plugin).is_relative_to(installed.parent)  # the venv's copy, not the checkout
    python_form = "python -c 'import r3f_fairseq; print(r3f_fairseq.USER_DIR)' 2>/dev/null"
    assert run_outside(installed, cwd, python_form).strip() == plugin
    assert "criterion: SentencePredictionR3FCriterion" in out
    records = json_logs(out, "train_inner")
    assert len(records) == 2 and all(float(r["symm_kl"]) > 0 for r in records)
    assert (cwd / "checkpoints" / "checkpoint_last.pt").is_file()


@pytest.mark.slow
def test_readme_fairseq_hydra_train_command_runs_as_written(installed, trained_outside, rte_bin,
                                                            tmp_path):
    """The README's block verbatim, with RTE-bin and roberta.large/model.pt (tiny stand-ins) in the
    current directory, plus overrides that only make it CPU-sized."""
    command = readme_block("fairseq-hydra-train")
    (tmp_path / "RTE-bin").symlink_to(rte_bin)
    (tmp_path / "roberta.large").mkdir()
    shutil.copy(trained_outside[0] / "checkpoints" / "checkpoint_last.pt", tmp_path / "roberta.large" / "model.pt")
    out = run_outside(installed, tmp_path, f"{command} {' '.join(TINY_HYDRA)}")
    assert "R4F: spectral norm on classification head 'sentence_classification_head'" in out
    assert "Loaded checkpoint roberta.large/model.pt" in out
    records = json_logs(out.replace("][train_inner][INFO] - ", " | train_inner | "), "train_inner")
    assert len(records) == 2 and all(float(r["symm_kl"]) > 0 for r in records)
    assert (tmp_path / "checkpoints" / "checkpoint_last.pt").is_file()
