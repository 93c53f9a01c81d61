"""Issue 17, data and model layer: every bad input ends in one line naming the flag, file and line.

Each bad input is made in tmp_path from real rows of ../shared/data (or the
real all-MiniLM-L6-v2 files) and goes through the real entry point:
``prepare_glue.main`` and ``hf_bert.main`` (wrapped with errors.cli: exit 2,
one ``error:`` line on stderr, no traceback), ``download_glue.main``, the XNLI
readers, the label checks on real fine-tuning commands, and evaluation.
docs/bad-inputs.md lists the same catalogue.
"""

import json
import os
import random
import re
import shutil
import subprocess
import sys

import pytest

from r3f_fairseq import checks
from r3f_fairseq.data import download_glue, glue, prepare_glue, xnli
from r3f_fairseq.data.prepare_glue import write_label_dictionary
from r3f_fairseq.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def expect_cli_error(main, argv, message, capsys):
    """main(argv) ends with exit 2 and exactly one stderr line ``error: ...`` matching ``message``."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(message, lines[0]), (message, lines[0])
    return lines[0]


# --- GLUE TSVs through prepare_glue's command line -----------------------------------------------------

def real_lines(shared_data, task, split, n=6):
    """The header (if any) and the first n rows of a real GLUE file, as bytes lines."""
    with open(shared_data / "glue" / task / f"{split}.tsv", "rb") as f:
        return [f.readline() for _ in range(n + 1)]


def header_only(lines):
    return lines[:1]


def not_utf8_on_line_4(lines):
    lines = list(lines)
    lines[3] = lines[3].replace(b" ", b" caf\xe9 ", 1)  # Latin-1 e-acute
    return lines


def label_on_line_3(label):
    """Line 3 with its last field (the label: STS-B's score, RTE's label) replaced."""
    def mutate(lines):
        lines = list(lines)
        fields = lines[2].rstrip(b"\n").split(b"\t")
        fields[-1] = label
        lines[2] = b"\t".join(fields) + b"\n"
        return lines
    return mutate


TSV_CASES = {
    # id: (task, split, mutation, expected message)
    "header-only-train": ("RTE", "train", header_only, r"--glue-dir \S+/RTE/train\.tsv:2: no examples after the header"),
    "header-only-dev": ("RTE", "dev", header_only, r"--glue-dir \S+/RTE/dev\.tsv:2: no examples after the header"),
    "not-utf8": ("RTE", "train", not_utf8_on_line_4,
                 r"--glue-dir \S+/RTE/train\.tsv:4: not UTF-8 text: byte 0xe9 at column \d+"),
    "not-utf8-stsb-dev": ("STS-B", "dev", not_utf8_on_line_4, r"--glue-dir \S+/STS-B/dev\.tsv:4: not UTF-8 text"),
    "stsb-17.5": ("STS-B", "train", label_on_line_3(b"17.5"),
                  r"--glue-dir \S+/STS-B/train\.tsv:3: label '17\.5' outside the STS-B range \[0, 5\]"),
    "stsb-minus-3": ("STS-B", "train", label_on_line_3(b"-3"),
                     r"--glue-dir \S+/STS-B/train\.tsv:3: label '-3' outside the STS-B range \[0, 5\]"),
    "stsb-inf": ("STS-B", "dev", label_on_line_3(b"inf"),
                 r"--glue-dir \S+/STS-B/dev\.tsv:3: label 'inf' is not a finite number"),
    "stsb-nan": ("STS-B", "train", label_on_line_3(b"nan"),
                 r"--glue-dir \S+/STS-B/train\.tsv:3: label 'nan' is not a finite number"),
    "stsb-5.01": ("STS-B", "train", label_on_line_3(b"5.01"), r"train\.tsv:3: label '5\.01' outside the STS-B range"),
    "rte-label-on-stsb-scale": ("RTE", "dev", label_on_line_3(b"4.2"),
                                r"--glue-dir \S+/RTE/dev\.tsv:3: label '4\.2' not in RTE labels"),
}


def glue_copy(shared_data, tmp_path, task, split, mutation):
    """tmp_path/glue/<TASK>/{train,dev}.tsv: real rows, one file mutated."""
    task_dir = tmp_path / "glue" / task
    task_dir.mkdir(parents=True)
    for name in ("train", "dev"):
        lines = real_lines(shared_data, task, name)
        (task_dir / f"{name}.tsv").write_bytes(b"".join(mutation(lines) if name == split else lines))
    return tmp_path / "glue"


@pytest.mark.parametrize("case", sorted(TSV_CASES))
def test_bad_glue_tsv_is_one_line_naming_file_and_line(case, shared_data, bpe_dir, tmp_path, capsys):
    task, split, mutation, message = TSV_CASES[case]
    glue_dir = glue_copy(shared_data, tmp_path, task, split, mutation)
    out = tmp_path / "out"
    expect_cli_error(prepare_glue.main, [task, "--glue-dir", str(glue_dir), "--bpe-dir", bpe_dir,
                                         "--out-dir", str(out), "--workers", "1"], message, capsys)
    assert not os.path.exists(out / f"{glue.get_task(task).name}-bin")  # nothing half-prepared


def test_real_stsb_scores_pass_the_range_check(shared_data):
    """The check rejects only what is wrong: all 7,249 real STS-B train and dev scores are in [0, 5]."""
    task = glue.get_task("STS-B")
    scores = [float(e.label) for s in ("train", "dev")
              for e in glue.read_examples(task, str(shared_data / "glue" / "STS-B" / f"{s}.tsv"))]
    assert len(scores) == 5749 + 1500 and min(scores) == 0.0 and max(scores) == 5.0


def test_prepare_glue_process_exits_2_without_traceback(shared_data, bpe_dir, tmp_path):
    """The same through a real process: ``python -m r3f_fairseq.data.prepare_glue``."""
    glue_dir = glue_copy(shared_data, tmp_path, "RTE", "train", header_only)
    proc = subprocess.run([sys.executable, "-m", "r3f_fairseq.data.prepare_glue", "RTE", "--glue-dir", str(glue_dir),
                           "--bpe-dir", bpe_dir, "--out-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    # (importing r3f_fairseq imports fairseq, which may log a line of its own first)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error")]
    assert errors == [f"error: --glue-dir {glue_dir}/RTE/train.tsv:2: no examples after the header line"]
    assert proc.stderr.strip().splitlines()[-1] == errors[0]


def test_missing_glue_split_and_dir(shared_data, bpe_dir, tmp_path, capsys):
    glue_dir = glue_copy(shared_data, tmp_path, "RTE", "train", lambda lines: lines)
    os.remove(glue_dir / "RTE" / "dev.tsv")
    expect_cli_error(prepare_glue.main, ["RTE", "--glue-dir", str(glue_dir), "--bpe-dir", bpe_dir,
                                         "--out-dir", str(tmp_path / "out")], r"--glue-dir \S+: no RTE/dev\.tsv",
                     capsys)
    expect_cli_error(prepare_glue.main, ["RTE", "--glue-dir", str(tmp_path / "nowhere"), "--bpe-dir", bpe_dir,
                                         "--out-dir", str(tmp_path / "out")],
                     r"--glue-dir \S+/nowhere: no such directory", capsys)


def test_non_utf8_wordpiece_vocabulary(shared_data, tmp_path, capsys):
    vocab = tmp_path / "wp"
    vocab.mkdir()
    (vocab / "vocab.txt").write_bytes(b"[PAD]\n[UNK]\n[CLS]\nna\xefve\n")
    (vocab / "dict.txt").write_text("na 1\n")
    expect_cli_error(prepare_glue.main, ["RTE", "--glue-dir", str(shared_data / "glue"), "--wordpiece-dir", str(vocab),
                                         "--out-dir", str(tmp_path / "out")],
                     r"--wordpiece-dir \S+/vocab\.txt:4: not UTF-8 text: byte 0xef at column 3", capsys)


def test_corrupt_glue_zip(tmp_path, capsys):
    src = tmp_path / "from"
    src.mkdir()
    (src / "RTE.zip").write_bytes(b"PK\x03\x04 this download was cut off")
    expect_cli_error(download_glue.main, ["RTE", "--from-dir", str(src), "--out-dir", str(tmp_path / "glue")],
                     r"\S+/RTE\.zip: not a zip archive", capsys)


# --- XNLI readers ---------------------------------------------------------------------------------------

def xnli_copy(shared_data, tmp_path, languages, n=5):
    out = tmp_path / "xnli"
    out.mkdir()
    for lang in languages:
        with open(shared_data / "xnli" / f"dev-{lang}.tsv", "rb") as f:
            (out / f"dev-{lang}.tsv").write_bytes(b"".join(f.readline() for _ in range(n)))
    return out


def test_missing_xnli_language_file_names_it_and_lists_the_found(shared_data, tmp_path):
    xnli_dir = xnli_copy(shared_data, tmp_path, ["en", "de"])
    with pytest.raises(UserError, match=r"--xnli-dir \S+/xnli: no dev-sw\.tsv and no xnli\.dev\.tsv; "
                                        r"dev-<lang>\.tsv found for: de,en"):
        xnli.read_xnli_dir(str(xnli_dir), ("en", "de", "sw"))
    assert set(xnli.read_xnli_dir(str(xnli_dir), ("en", "de"))) == {"en", "de"}  # the ones found do read


def test_language_missing_from_original_xnli_file(shared_data, tmp_path):
    """XNLI-1.0's xnli.dev.tsv (real fixture rows) without its Swahili rows."""
    fixture = shared_data / "xnli" / "XNLI-1.0-format-fixture" / "xnli.dev.tsv"
    header, *rows = fixture.read_text(encoding="utf-8").splitlines(keepends=True)
    language = header.split("\t").index("language")
    kept = [r for r in rows if r.split("\t")[language] != "sw"]
    assert len(kept) < len(rows)
    (tmp_path / "xnli.dev.tsv").write_text(header + "".join(kept), encoding="utf-8")
    have = ",".join(sorted(set(xnli.LANGUAGES) - {"sw"}))
    with pytest.raises(UserError, match=rf"--xnli-dir \S+/xnli\.dev\.tsv: no rows for languages sw \(it has {have}\)"):
        xnli.read_xnli_dir(str(tmp_path), ("en", "sw"))
    assert list(xnli.read_xnli_dir(str(tmp_path), ("en",))) == ["en"]


def test_non_utf8_xnli_file(shared_data, tmp_path):
    xnli_dir = xnli_copy(shared_data, tmp_path, ["fr"])
    path = xnli_dir / "dev-fr.tsv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = b"Le caf\xe9 " + lines[2]  # Latin-1 e-acute at column 7
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(UserError, match=r"--xnli-dir \S+/dev-fr\.tsv:3: not UTF-8 text: byte 0xe9 at column 7"):
        xnli.read_language_file(str(path))


# --- the converter: config.json against the weights -----------------------------------------------------

@pytest.fixture(scope="module")
def minilm_dir():
    from r3f_fairseq.conversion import hf_bert

    return hf_bert.installed_minilm_dir()


def hf_copy(minilm_dir, tmp_path, config_change=None, weights=None):
    """tmp_path/hf: the real MiniLM's config.json (changed), vocab.txt and weights (linked, or ``weights``)."""
    hf = tmp_path / "hf"
    hf.mkdir()
    config = json.loads(open(os.path.join(minilm_dir, "config.json"), encoding="utf-8").read())
    (hf / "config.json").write_text(json.dumps({**config, **(config_change or {})}, indent=2))
    shutil.copyfile(os.path.join(minilm_dir, "vocab.txt"), hf / "vocab.txt")
    if weights is None:
        os.symlink(os.path.join(minilm_dir, "model.safetensors"), hf / "model.safetensors")
    else:
        name, data = weights
        (hf / name).write_bytes(data)
    return hf


CONFIG_CASES = {
    "4-layers-for-6": ({"num_hidden_layers": 4},
                       r"--hf-dir \S+/config\.json says num_hidden_layers 4, but \S+/model\.safetensors has 6 layers"),
    "8-layers-for-6": ({"num_hidden_layers": 8}, r"says num_hidden_layers 8, but \S+ has 6 layers"),
    "hidden-size": ({"hidden_size": 256}, r"says hidden_size 256, but \S+ has 384 as the embedding size"),
    "heads": ({"num_attention_heads": 5}, r"config\.json: hidden_size 384 is not a multiple of num_attention_heads 5"),
    "vocab-size": ({"vocab_size": 30000}, r"says vocab_size 30000, but \S+ has 30522 embedding rows"),
    "ffn-size": ({"intermediate_size": 1024}, r"says intermediate_size 1024, but \S+ has 1536 in layer 0"),
    "positions": ({"max_position_embeddings": 256}, r"says max_position_embeddings 256, but \S+ has 512 position rows"),
    "layers-not-a-number": ({"num_hidden_layers": "six"},
                            r"config\.json: num_hidden_layers is 'six', expected a positive integer"),
    "hidden-size-missing": ({"hidden_size": None}, r"config\.json: hidden_size is None, expected a positive integer"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_config_json_disagreeing_with_the_weights(case, minilm_dir, tmp_path, capsys):
    from r3f_fairseq.conversion import hf_bert

    change, message = CONFIG_CASES[case]
    hf = hf_copy(minilm_dir, tmp_path, change)
    expect_cli_error(hf_bert.main, ["--hf-dir", str(hf), "--out-dir", str(tmp_path / "out")], message, capsys)
    assert not os.path.exists(tmp_path / "out")  # nothing written


def truncated_safetensors(minilm_dir):
    with open(os.path.join(minilm_dir, "model.safetensors"), "rb") as f:
        return "model.safetensors", f.read(4096)


def garbage(name, seed):
    """Fixed random bytes (seed >= 0) or a real text file given as weights (seed -1)."""
    if seed < 0:
        return lambda minilm_dir: (name, open(os.path.join(minilm_dir, "vocab.txt"), "rb").read(4096))
    return lambda minilm_dir: (name, random.Random(seed).randbytes(2048))


def truncated_torch_bin(minilm_dir):
    import io

    import torch
    from safetensors.torch import load_file

    weights = load_file(os.path.join(minilm_dir, "model.safetensors"))
    buffer = io.BytesIO()
    torch.save({k: v for k, v in weights.items() if "layer.0." in k}, buffer)
    return "pytorch_model.bin", buffer.getvalue()[: buffer.tell() // 2]


WEIGHT_CASES = {
    "truncated-safetensors": (truncated_safetensors, r"--hf-dir \S+/model\.safetensors: not a readable weights file"),
    **{f"garbage-safetensors-{seed}": (garbage("model.safetensors", seed),
                                       r"--hf-dir \S+/model\.safetensors: not a readable weights") for seed in range(-1, 4)},
    "truncated-pytorch-bin": (truncated_torch_bin, r"--hf-dir \S+/pytorch_model\.bin: not a readable weights file"),
    **{f"garbage-pytorch-bin-{seed}": (garbage("pytorch_model.bin", seed),
                                       r"--hf-dir \S+/pytorch_model\.bin: not a readable weights") for seed in range(-1, 4)},
}


@pytest.mark.parametrize("case", sorted(WEIGHT_CASES))
def test_truncated_or_garbage_weights(case, minilm_dir, tmp_path, capsys):
    from r3f_fairseq.conversion import hf_bert

    make, message = WEIGHT_CASES[case]
    hf = hf_copy(minilm_dir, tmp_path, weights=make(minilm_dir))
    expect_cli_error(hf_bert.main, ["--hf-dir", str(hf), "--out-dir", str(tmp_path / "out")], message, capsys)


@pytest.mark.parametrize("text, message", [
    ('{"hidden_size": 384,\n "num_hidden_layers": 6\n', r"--hf-dir \S+/config\.json:3: not valid JSON"),
    ("[6, 384]", r"--hf-dir \S+/config\.json: not a JSON object"),
    (b'{"name": "caf\xe9"}', r"--hf-dir \S+/config\.json:1: not UTF-8 text"),
])
def test_bad_config_json(text, message, minilm_dir, tmp_path, capsys):
    from r3f_fairseq.conversion import hf_bert

    hf = hf_copy(minilm_dir, tmp_path)
    (hf / "config.json").write_bytes(text if isinstance(text, bytes) else text.encode())
    expect_cli_error(hf_bert.main, ["--hf-dir", str(hf), "--out-dir", str(tmp_path / "out")], message, capsys)


def test_the_real_config_passes_the_check(minilm_dir):
    from r3f_fairseq.conversion import hf_bert

    config, weights = hf_bert.read_hf_dir(minilm_dir)
    hf_bert.check_config(config, weights, "config.json", "model.safetensors")


# --- labels against --num-classes / --regression-target, on real fine-tuning commands --------------------

def label_dir(tmp_path, task_name, shared_data):
    """<TASK>-bin/label as prepare_task leaves it: dict.txt for classes (fairseq-preprocess copies the
    label dictionary prepare_glue writes), the scores/5 text files for STS-B (copied as they are)."""
    task = glue.get_task(task_name)
    data = tmp_path / f"{task.name}-bin"
    (data / "label").mkdir(parents=True)
    if task.regression:
        examples = list(glue.read_examples(task, str(shared_data / "glue" / task.name / "dev.tsv")))[:20]
        for split in ("train", "valid"):
            (data / "label" / f"{split}.label").write_text(
                "".join(glue.label_to_text(task, e.label) + "\n" for e in examples))
    else:
        write_label_dictionary(task.labels, str(data / "label" / "dict.txt"))
    return data


def glue_command(task, data, extra=()):
    """The fairseq-train command a GLUE run executes (minilm-cpu recipe, std method)."""
    from r3f_fairseq.experiments.glue.finetune import GlueRun, command
    from r3f_fairseq.experiments.glue.recipes import MINILM_CPU_PROFILE

    return command(GlueRun(task, "std", 1, MINILM_CPU_PROFILE, extra=tuple(extra)), str(data), "model.pt")


LABEL_CASES = {
    "3-classes-on-2-label-data": ("RTE", "RTE", ["--num-classes", "3"],
                                  r"--num-classes 3: --bin-dir \S+/RTE-bin/label/dict\.txt lists 2 classes "
                                  r"\(entailment, not_entailment\)"),
    "1-class-on-2-label-data": ("RTE", "SST-2", ["--num-classes", "1"], r"--num-classes 1: .* lists 2 classes"),
    "regression-on-classification-data": ("RTE", "RTE", ["--regression-target"],
                                          r"--regression-target: --bin-dir \S+/RTE-bin/label/dict\.txt lists 2 "
                                          r"classes"),
    "stsb-recipe-on-rte-bin": ("STS-B", "RTE", [], r"--regression-target: .* lists 2 classes"),
    "classification-on-stsb-data": ("RTE", "STS-B", [], r"--bin-dir \S+/STS-B-bin: label/ holds regression scores"),
    "rte-recipe-on-mnli-bin": ("RTE", "MNLI", [], r"--num-classes 2: .* lists 3 classes \(contradiction, "),
}


@pytest.mark.parametrize("case", sorted(LABEL_CASES))
def test_num_classes_and_regression_against_the_labels(case, shared_data, tmp_path):
    recipe_task, data_task, extra, message = LABEL_CASES[case]
    data = label_dir(tmp_path, data_task, shared_data)
    with pytest.raises(UserError, match=message):
        checks.check_train_command(glue_command(recipe_task, data, extra))


@pytest.mark.parametrize("task", sorted(glue.GLUE_TASKS))
def test_every_recipe_fits_its_own_task_data(task, shared_data, tmp_path):
    checks.check_train_command(glue_command(task, label_dir(tmp_path, task, shared_data)))


def test_non_finite_regression_target_in_a_prepared_bin(shared_data, tmp_path):
    data = label_dir(tmp_path, "STS-B", shared_data)
    path = data / "label" / "train.label"
    lines = path.read_text().splitlines()
    lines[2] = "nan"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"--bin-dir \S+/train\.label:3: regression target 'nan' is not a finite"):
        checks.check_train_command(glue_command("STS-B", data))


# --- checkpoints: unreadable files (fast), heads against label sets and summarize (slow) ------------------

def small_torch_file(tmp_path, obj):
    import torch

    path = tmp_path / "checkpoint_best.pt"
    torch.save(obj, path)
    return path


@pytest.mark.parametrize("kind, message", [
    ("truncated", r"--checkpoint \S+/checkpoint_best\.pt: not a readable checkpoint"),
    *[(f"garbage-{seed}", r"--checkpoint \S+/checkpoint_best\.pt: not a readable checkpoint") for seed in range(4)],
    ("text-file", r"--checkpoint \S+/checkpoint_best\.pt: not a readable checkpoint"),
    ("empty", r"--checkpoint \S+/checkpoint_best\.pt: not a readable checkpoint"),
    ("not-fairseq", r"--checkpoint \S+/checkpoint_best\.pt: not a fairseq checkpoint"),
    ("missing", r"--checkpoint \S+/checkpoint_best\.pt: no such file"),
])
def test_unreadable_checkpoint_in_evaluation(kind, message, tmp_path, shared_data):
    import torch

    from r3f_fairseq.evaluation import sentence_prediction_accuracy

    path = small_torch_file(tmp_path, {"model": {"w": torch.zeros(64, 64)}, "cfg": {"task": {}}} if kind == "truncated"
                            else {"weights": torch.zeros(3)})
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[:3000])
    elif kind.startswith("garbage"):
        path.write_bytes(random.Random(int(kind.split("-")[1])).randbytes(4096))
    elif kind == "text-file":
        shutil.copyfile(str(shared_data / "glue" / "RTE" / "dev.tsv"), path)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "missing":
        path.unlink()
    with pytest.raises(UserError, match=message):
        sentence_prediction_accuracy(str(path), str(tmp_path), ["en"])


def save_checkpoint(cfg, model, path):
    """A fairseq checkpoint of a freshly built model, as checkpoint_utils.save_checkpoint lays it out."""
    from fairseq import checkpoint_utils
    from omegaconf import OmegaConf

    checkpoint_utils.torch_persistent_save(
        {"cfg": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True), "model": model.state_dict(), "extra_state": {"epoch": 1}, "last_optimizer_state": None,
         "optimizer_history": [{"criterion_name": "SentencePredictionCriterion", "optimizer_name": "Adam",
                                "lr_scheduler_state": {"best": None}, "num_updates": 0}]},
        str(path))
    return str(path)


@pytest.fixture(scope="module")
def rte_checkpoint(rte_bin, tmp_path_factory):
    """A 2-class RTE sentence-prediction checkpoint (tiny RoBERTa on the real RTE bin)."""
    from tests import helpers

    cfg, _, model, _ = helpers.build(rte_bin, *helpers.TINY_ROBERTA, "--num-classes", "2",
                                  "--criterion", "sentence_prediction")
    return save_checkpoint(cfg, model, tmp_path_factory.mktemp("rte") / "checkpoint_best.pt")


@pytest.mark.slow
def test_two_class_checkpoint_on_three_label_xnli(rte_checkpoint, rte_bin, shared_data, bpe_dir, tmp_path):
    """Today: 36.7 % with exit 0. Now: the head's classes against the XNLI label set, before scoring."""
    from r3f_fairseq.data.gpt2_bpe import Gpt2BpeEncoder
    from r3f_fairseq.evaluation import sentence_prediction_accuracy

    xnli_bin = xnli.prepare_xnli(str(xnli_copy(shared_data, tmp_path, ["en"], n=8)), str(tmp_path / "XNLI-bin"),
                                 Gpt2BpeEncoder(bpe_dir), languages=("en",))
    with pytest.raises(UserError, match=r"--checkpoint \S+/checkpoint_best\.pt: head 'sentence_classification_head' "
                                        r"has 2 classes, but --xnli-bin \S+/XNLI-bin/label/dict\.txt lists 3 "
                                        r"\(contradiction, entailment, neutral\)"):
        sentence_prediction_accuracy(rte_checkpoint, xnli_bin, ["en"], cpu=True)
    accuracy = sentence_prediction_accuracy(rte_checkpoint, rte_bin, ["valid"], cpu=True)  # its own data: scored
    assert 0 <= accuracy["valid"] <= 100


@pytest.mark.slow
def test_classification_checkpoint_given_to_summarize(rte_checkpoint, cnn_dm_bin, tmp_path):
    from tests import helpers

    with pytest.raises(UserError, match=r"--checkpoint \S+/checkpoint_best\.pt: a sentence-prediction "
                                        r"\(classification\) model, task sentence_prediction, arch roberta_base; "
                                        r"summarize needs a BART checkpoint"):
        checks.check_generation_checkpoint(rte_checkpoint)
    cfg, _, model, _ = helpers.build(cnn_dm_bin, *helpers.TINY_BART, "--criterion", "label_smoothed_cross_entropy")
    bart = save_checkpoint(cfg, model, tmp_path / "bart.pt")
    assert "decoder.layers.0.fc1.weight" in checks.check_generation_checkpoint(bart)["model"]


def test_output_cut_short_by_head_ends_quietly_with_the_sigpipe_status():
    """`r3f-... | head -1`: no BrokenPipeError traceback, exit 141 as a Unix tool killed by SIGPIPE."""
    import subprocess
    import sys

    program = ("from r3f_fairseq.errors import cli\n"
               "@cli\n"
               "def main(argv=None):\n"
               "    for i in range(200000):\n"
               "        print('line', i)\n"
               "main()\n")
    proc = subprocess.run(["bash", "-c", f'"{sys.executable}" -c "$0" | head -1; exit "${{PIPESTATUS[0]}}"', program],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout == "line 0\n"
    assert proc.returncode == 141 and proc.stderr == ""


def test_a_broken_pipe_that_is_not_stdout_is_still_an_error():
    import subprocess
    import sys

    program = ("from r3f_fairseq.errors import cli\n"
               "@cli\n"
               "def main(argv=None):\n"
               "    raise BrokenPipeError('the pipe to a child process')\n"
               "main()\n")
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "BrokenPipeError: the pipe to a child process" in proc.stderr
