"""Reading and preparing the real GLUE files in ../shared/data/glue."""

import subprocess
import sys

import pytest

from r3f_fairseq.data import glue

# (task, directory, file, rows, labelled) -- rows as documented in ../shared/data/README.md
FILES = [
    ("SST-2", "SST-2", "train", 67349, True), ("SST-2", "SST-2", "dev", 872, True),
    ("CoLA", "CoLA", "train", 8551, True), ("CoLA", "CoLA", "dev", 1043, True), ("CoLA", "CoLA", "test", 1063, False),
    ("RTE", "RTE", "train", 2490, True), ("RTE", "RTE", "dev", 277, True), ("RTE", "RTE", "test", 3000, False),
    ("MRPC", "MRPC", "train", 3668, True), ("MRPC", "MRPC", "dev", 408, True), ("MRPC", "MRPC", "test", 1725, False),
    ("STS-B", "STS-B", "train", 5749, True), ("STS-B", "STS-B", "dev", 1500, True), ("STS-B", "STS-B", "test", 1379, False),
    ("QNLI", "QNLI", "dev", 5463, True), ("QNLI", "QNLI", "test", 5463, False),
    ("QQP", "QQP", "train_subset", 23497, True),
    ("MNLI", "MNLI-format-fixture", "train", 3, True), ("MNLI", "MNLI-format-fixture", "dev_matched", 2, True),
    ("MNLI", "MNLI-format-fixture", "dev_mismatched", 2, True), ("MNLI", "MNLI-format-fixture", "test_matched", 1, False),
]


@pytest.mark.parametrize("task_name, directory, stem, rows, labelled", FILES,
                         ids=[f"{d}/{s}" for _, d, s, _, _ in FILES])
def test_every_real_glue_file_parses_completely(shared_data, task_name, directory, stem, rows, labelled):
    task = glue.get_task(task_name)
    examples = list(glue.read_examples(task, str(shared_data / "glue" / directory / f"{stem}.tsv"), labelled))
    assert len(examples) == rows
    assert all(e.input0 for e in examples)
    assert all((e.input1 is not None) == (task.input1 is not None) for e in examples)
    if labelled:
        labels = {e.label for e in examples}
        if task.regression:
            assert all(0.0 <= float(y) <= 5.0 for y in labels)
        else:
            assert labels <= set(task.labels)
    else:
        assert all(e.label is None for e in examples)


def test_mrpc_bom_is_not_part_of_the_header_or_text(shared_data):
    raw = (shared_data / "glue" / "MRPC" / "train.tsv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    first = next(glue.read_examples(glue.get_task("MRPC"), str(shared_data / "glue" / "MRPC" / "train.tsv")))
    assert first.input0.startswith("Amrozi") and first.label in ("0", "1")


def test_cola_has_no_header_and_reads_by_column_index(shared_data):
    first = next(glue.read_examples(glue.get_task("CoLA"), str(shared_data / "glue" / "CoLA" / "train.tsv")))
    assert first.input0.startswith("Our friends won't buy this analysis")
    assert first.label == "1"


def _rte_copy(shared_data, tmp_path, corrupt):
    src = (shared_data / "glue" / "RTE" / "train.tsv").read_text(encoding="utf-8").split("\n")
    src[5] = corrupt(src[5])
    (tmp_path / "RTE").mkdir()
    (tmp_path / "RTE" / "train.tsv").write_text("\n".join(src), encoding="utf-8")
    (tmp_path / "RTE" / "dev.tsv").write_text((shared_data / "glue" / "RTE" / "dev.tsv").read_text(encoding="utf-8"))
    return tmp_path / "RTE" / "train.tsv"


@pytest.mark.parametrize("corrupt, why", [
    (lambda row: row.rsplit("\t", 1)[0], "expected 4 tab-separated fields, got 3"),
    (lambda row: row.rsplit("\t", 1)[0] + "\tmaybe", "label 'maybe' not in RTE labels"),
], ids=["missing-field", "unknown-label"])
def test_malformed_row_is_an_error_naming_file_and_line(shared_data, tmp_path, corrupt, why):
    path = _rte_copy(shared_data, tmp_path, corrupt)
    with pytest.raises(glue.MalformedRow, match=f"{path}:6: {why}"):
        list(glue.read_examples(glue.get_task("RTE"), str(path)))


def test_prepare_glue_cli_fails_loudly_on_a_malformed_row(shared_data, bpe_dir, tmp_path):
    path = _rte_copy(shared_data, tmp_path, lambda row: row.rsplit("\t", 1)[0])
    proc = subprocess.run([sys.executable, "-m", "r3f_fairseq.data.prepare_glue", "RTE", "--glue-dir", str(tmp_path),
                           "--bpe-dir", bpe_dir, "--out-dir", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert f"{path}:6" in proc.stderr


def test_missing_bpe_files_name_the_flag(shared_data, tmp_path):
    from r3f_fairseq.data.prepare_glue import prepare_task

    with pytest.raises(FileNotFoundError, match="--bpe-dir .*missing encoder.json, vocab.bpe, dict.txt"):
        prepare_task("RTE", str(shared_data / "glue"), str(tmp_path), str(tmp_path / "out"))


def test_unknown_task_is_rejected():
    with pytest.raises(ValueError, match="unknown GLUE task 'RTF'"):
        glue.get_task("RTF")


def test_stsb_labels_are_scaled_into_unit_interval(stsb_bin):
    import os

    values = [float(v) for v in open(os.path.join(stsb_bin, "label", "train.label"))]
    assert len(values) == 32 and all(0.0 <= v <= 1.0 for v in values) and max(values) > 0.5


@pytest.fixture(scope="module")
def every_task_prepared(shared_data, bpe_dir, tmp_path_factory):
    """Every GLUE task in ../shared/data/glue through the prepare_glue CLI (first 40 rows of each split);
    QNLI and QQP, which lack a split there, are split first."""
    glue_dir = tmp_path_factory.mktemp("glue_in")
    for entry in (shared_data / "glue").iterdir():
        (glue_dir / ("MNLI" if entry.name == "MNLI-format-fixture" else entry.name)).symlink_to(entry)
    out = tmp_path_factory.mktemp("glue_out")
    tasks = ["CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE"]
    proc = subprocess.run([sys.executable, "-m", "r3f_fairseq.data.prepare_glue", *tasks, "--glue-dir", str(glue_dir),
                           "--bpe-dir", bpe_dir, "--out-dir", str(out), "--limit", "40"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("task, columns, valid_subsets", [
    ("CoLA", ["input0", "label"], ["valid"]), ("SST-2", ["input0", "label"], ["valid"]),
    ("MRPC", ["input0", "input1", "label"], ["valid"]), ("STS-B", ["input0", "input1", "label"], ["valid"]),
    ("QQP", ["input0", "input1", "label"], ["valid"]), ("QNLI", ["input0", "input1", "label"], ["valid"]),
    ("RTE", ["input0", "input1", "label"], ["valid"]), ("MNLI", ["input0", "input1", "label"], ["valid", "valid1"]),
])
def test_every_real_task_prepares_into_fairseq_binaries(every_task_prepared, task, columns, valid_subsets):
    from fairseq.data import data_utils

    out, _ = every_task_prepared
    bin_dir = out / f"{task}-bin"
    assert sorted(p.name for p in bin_dir.iterdir()) == sorted(columns)
    for split in ["train", *valid_subsets]:
        if task == "STS-B":  # float labels stay text
            lengths = [len((bin_dir / "label" / f"{split}.label").read_text().splitlines())]
        else:
            lengths = []
        for col in columns:
            if task == "STS-B" and col == "label":
                continue
            dataset = data_utils.load_indexed_dataset(str(bin_dir / col / split), None)
            assert dataset is not None, (col, split)
            lengths.append(len(dataset))
        expected = 2 if task == "MNLI" and split != "train" else (3 if task == "MNLI" else 40)
        assert lengths == [expected] * len(lengths), (split, lengths)


@pytest.mark.slow
def test_tasks_without_a_split_are_split_and_say_so(every_task_prepared, shared_data):
    out, stdout = every_task_prepared
    assert "QNLI has no train.tsv/dev.tsv: the first 1000 rows of dev.tsv are the dev set and the other 4463" in stdout
    assert "the first 2000 rows of train_subset.tsv are the dev set and the other 21497" in stdout
    qnli = (shared_data / "glue" / "QNLI" / "dev.tsv").read_text(encoding="utf-8").splitlines()
    split_dev = (out / "glue-split" / "QNLI" / "dev.tsv").read_text(encoding="utf-8").splitlines()
    split_train = (out / "glue-split" / "QNLI" / "train.tsv").read_text(encoding="utf-8").splitlines()
    assert split_dev == qnli[:1001] and split_train == qnli[:1] + qnli[1001:]
