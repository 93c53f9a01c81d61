"""XNLI: reading the real dev sets, the XLM-R sentencepiece path, zero-shot evaluation, Table 3."""

import json

import pytest

from r3f_fairseq.experiments.glue import xnli as xnli_cli
from r3f_fairseq.data import xnli
from r3f_fairseq.data.glue import MalformedRow
from tests.helpers import TINY_ROBERTA, USER_DIR, json_logs, run_cli


def test_all_fifteen_real_dev_sets_parse(shared_data):
    data = xnli.read_xnli_dir(str(shared_data / "xnli"))
    assert sorted(data) == sorted(xnli.LANGUAGES)
    for lang, examples in data.items():
        assert len(examples) == 2490, lang
        assert {e.label for e in examples} == set(xnli.LABELS)


def test_original_xnli_layout_parses(shared_data):
    data = xnli.read_original(str(shared_data / "xnli" / "XNLI-1.0-format-fixture" / "xnli.dev.tsv"))
    assert sum(len(v) for v in data.values()) == 15 and "ar" in data


def test_malformed_row_names_file_and_line(tmp_path):
    path = tmp_path / "dev-en.tsv"
    path.write_text("A man.\tA person.\tentailment\nA dog.\tA cat.\tmaybe\n", encoding="utf-8")
    with pytest.raises(MalformedRow, match=f"{path}:2: label 'maybe'"):
        xnli.read_language_file(str(path))


@pytest.fixture(scope="module")
def sentencepiece_model(shared_data, tmp_path_factory):
    """A small sentencepiece model trained here on the real XNLI text, with a fairseq dict.txt."""
    import sentencepiece

    out = tmp_path_factory.mktemp("spm")
    lines = []
    for lang in xnli.LANGUAGES:
        with open(shared_data / "xnli" / f"dev-{lang}.tsv", encoding="utf-8") as f:
            for _, line in zip(range(150), f):
                lines += line.split("\t")[:2]
    (out / "text.txt").write_text("\n".join(lines), encoding="utf-8")
    sentencepiece.SentencePieceTrainer.train(input=str(out / "text.txt"), model_prefix=str(out / "spm"),
                                             vocab_size=2000, character_coverage=0.9995, minloglevel=2)
    sp = sentencepiece.SentencePieceProcessor(model_file=str(out / "spm.model"))
    with open(out / "dict.txt", "w", encoding="utf-8") as f:
        for i in range(3, sp.get_piece_size()):  # <unk>, <s>, </s> are fairseq's own
            f.write(f"{sp.id_to_piece(i)} 1\n")
    return str(out / "spm.model"), str(out / "dict.txt")


@pytest.mark.slow
def test_mnli_training_then_zero_shot_evaluation_on_fifteen_languages(shared_data, sentencepiece_model, tmp_path):
    spm_model, spm_dict = sentencepiece_model
    glue_dir = tmp_path / "glue"
    glue_dir.mkdir()
    (glue_dir / "MNLI").symlink_to(shared_data / "glue" / "MNLI-format-fixture")
    xnli_cli.main(["prepare", "--xnli-dir", str(shared_data / "xnli"), "--glue-dir", str(glue_dir),
                   "--spm-model", spm_model, "--spm-dict", spm_dict, "--out-dir", str(tmp_path), "--limit", "16"])
    # the MNLI and XNLI label dictionaries agree, in MNLI's order
    label_dicts = [(tmp_path / "MNLI-bin" / "label" / "dict.txt").read_text(),
                   (tmp_path / "XNLI-bin" / "label" / "dict.txt").read_text()]
    assert label_dicts[0] == label_dicts[1] == "contradiction 1\nentailment 1\nneutral 1\n"
    task_flags = ["--num-classes", "3", "--init-token", "0", "--separator-token", "2"]
    run_cli("fairseq-train", str(tmp_path / "MNLI-bin"), *TINY_ROBERTA, *task_flags,
            "--user-dir", USER_DIR, "--cpu", "--criterion", "sentence_prediction_r3f", "--eps", "1e-3",
            "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "2", "--required-batch-size-multiple", "1",
            "--max-update", "2",
            "--save-dir", str(tmp_path / "ckpt"), "--no-epoch-checkpoints")
    checkpoint = str(tmp_path / "ckpt" / "checkpoint_last.pt")
    xnli_cli.main(["evaluate", "--checkpoint", checkpoint,
                   "--xnli-bin", str(tmp_path / "XNLI-bin"), "--out", str(tmp_path / "r3f.json"), "--cpu"])
    result = json.loads((tmp_path / "r3f.json").read_text())
    assert sorted(result["accuracy"]) == sorted(xnli.LANGUAGES)
    assert all(0 <= a <= 100 for a in result["accuracy"].values())
    # the same accuracy as fairseq's own fairseq-validate on the per-language subsets
    validated = run_cli("fairseq-validate", str(tmp_path / "XNLI-bin"), "--path", checkpoint, "--user-dir", USER_DIR,
                        "--cpu", "--task", "sentence_prediction", "--criterion", "sentence_prediction", *task_flags,
                        "--valid-subset", "en,zh", "--batch-size", "8", "--log-format", "json")
    for lang in ("en", "zh"):  # fairseq logs each subset under its name, rounded to 0.1
        (record,) = json_logs(validated, lang)
        assert record[f"{lang}_accuracy"] == pytest.approx(result["accuracy"][lang], abs=0.051)
    table = xnli_cli.table([str(tmp_path / "r3f.json")])
    assert table.splitlines()[0].startswith("| model | ar | bg |") and table.splitlines()[0].endswith("| avg |")
    assert table.splitlines()[2].startswith("| r3f | ")
