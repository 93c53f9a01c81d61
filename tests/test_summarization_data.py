"""Summarisation preparation: every raw form of CNN/DM, XSum, Gigaword and Reddit TIFU."""

import csv
import gzip
import json
import os
import shutil

import pytest

from r3f_fairseq.data import prepare_summarization
from r3f_fairseq.data.summarization import MalformedPair
from r3f_fairseq.data.summarization_formats import one_line, read_article_pairs, read_gigaword, read_reddit_tifu


def test_cnn_dm_csv_with_newlines_in_fields(shared_data):
    path = str(shared_data / "summarization" / "cnn_dm" / "train_sample_100.csv")
    sources, targets = read_article_pairs(path)
    assert len(sources) == len(targets) == 100
    assert all("\n" not in s and s == s.strip() for s in sources + targets)
    assert sources[0].startswith("By . Associated Press . PUBLISHED")
    # highlights are one sentence per line in the CSV: joined with spaces, as in BART's .target files
    with open(path, encoding="utf-8", newline="") as f:
        raw_highlights = next(csv.DictReader(f))["highlights"]
    assert "\n" in raw_highlights and targets[0] == " ".join(raw_highlights.split())


def test_xsum_jsonl(shared_data):
    sources, targets = read_article_pairs(str(shared_data / "summarization" / "xsum" / "sample_10.jsonl"),
                                          "document", "summary")
    assert len(sources) == 10
    assert sources[0].startswith("The warning begins at 22:00 GMT on Saturday")


def test_malformed_records_name_file_and_line(tmp_path):
    bad_csv = tmp_path / "train.csv"
    bad_csv.write_text('id,article,highlights\n1,"An article\nover two lines",A summary.\n2,"Another",\n')
    with pytest.raises(MalformedPair, match=r"train.csv:4: field 'highlights' is empty"):
        read_article_pairs(str(bad_csv))
    short_row = tmp_path / "short.csv"
    short_row.write_text("id,article,highlights\n1,text\n")
    with pytest.raises(MalformedPair, match=r"short.csv:2: 2 fields, the header has 3"):
        read_article_pairs(str(short_row))
    bad_json = tmp_path / "train.jsonl"
    bad_json.write_text('{"document": "a", "summary": "b"}\n{"document": "a", "summary": \n')
    with pytest.raises(MalformedPair, match=r"train.jsonl:2: not valid JSON"):
        read_article_pairs(str(bad_json), "document", "summary")
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"document": "a"}\n')
    with pytest.raises(MalformedPair, match=r"missing.jsonl:1: no field 'summary'"):
        read_article_pairs(str(missing), "document", "summary")


GIGAWORD_ARTICLES = [
    "australia 's current account deficit shrunk by a record #.## billion dollars -lrb- #.## billion us -rrb- "
    "in the june quarter due to soaring commodity prices , figures released monday showed .",
    "at least two people were killed in a suspected bomb attack on a passenger bus in the strife-torn "
    "southern philippines on monday , the military said .",
]
GIGAWORD_TITLES = ["australian current account deficit narrows sharply", "at least two dead in southern philippines blast"]


# Rush et al.'s test set (Giga/input.txt, task1_ref0.txt): tokenised like train, but rare words are UNK
GIGAWORD_TEST_ARTICLES = ["japan 's nec corp. and UNK computer corp. of the united states said wednesday they had "
                          "agreed to join forces in supercomputer sales ."]
GIGAWORD_TEST_TITLES = ["nec UNK in computer sales tie-up"]
GIGAWORD_UNK_ARTICLE = "the <unk> river flooded # villages , officials said ."
GIGAWORD_UNK_TITLE = "<unk> floods # villages"


def write_lines(path, lines, compress=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    if compress:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)


def write_gigaword_release(top, compress_train=False):
    """Rush et al.'s summary.tar.gz as extracted: sumdata/{train,Giga,DUC2003,DUC2004}/..."""
    sumdata = top / "sumdata"
    write_lines(sumdata / "train" / "train.article.txt", GIGAWORD_ARTICLES + [GIGAWORD_UNK_ARTICLE], compress_train)
    write_lines(sumdata / "train" / "train.title.txt", GIGAWORD_TITLES + [GIGAWORD_UNK_TITLE], compress_train)
    write_lines(sumdata / "train" / "valid.article.filter.txt", [GIGAWORD_UNK_ARTICLE])
    write_lines(sumdata / "train" / "valid.title.filter.txt", [GIGAWORD_UNK_TITLE])
    write_lines(sumdata / "Giga" / "input.txt", GIGAWORD_TEST_ARTICLES)
    write_lines(sumdata / "Giga" / "task1_ref0.txt", GIGAWORD_TEST_TITLES)
    for duc in ("DUC2003", "DUC2004"):  # not Gigaword's test set, though also input.txt
        write_lines(sumdata / duc / "input.txt", ["a duc article ."])
        for k in range(4):
            write_lines(sumdata / duc / f"task1_ref{k}.txt", [f"duc reference {k}"])
    return sumdata


@pytest.mark.parametrize("where", ["top", "sumdata", "gzipped train"])
def test_gigaword_release_layout_every_split_unk_normalised(tmp_path, where):
    sumdata = write_gigaword_release(tmp_path, compress_train=where == "gzipped train")
    prepared = prepare_summarization.read_dataset("gigaword", str(sumdata if where == "sumdata" else tmp_path))
    splits = prepared.splits
    assert sorted(splits) == ["test", "train", "valid"]
    unk_article = "the UNK river flooded # villages , officials said ."
    assert splits["train"] == (GIGAWORD_ARTICLES + [unk_article], GIGAWORD_TITLES + ["UNK floods # villages"])
    assert splits["valid"] == ([unk_article], ["UNK floods # villages"])
    assert splits["test"] == (GIGAWORD_TEST_ARTICLES, GIGAWORD_TEST_TITLES)  # Giga/, not DUC's input.txt
    assert not any("<unk>" in line for pair in splits.values() for side in pair for line in side)


def test_gigaword_missing_split_or_file_is_named(tmp_path):
    sumdata = write_gigaword_release(tmp_path)
    shutil.rmtree(sumdata / "Giga")
    with pytest.raises(MalformedPair, match=r"no Gigaword test split: expected Giga/input.txt \+ Giga/task1_ref0.txt"):
        prepare_summarization.read_dataset("gigaword", str(tmp_path))
    write_gigaword_release(tmp_path)
    os.remove(sumdata / "train" / "valid.title.filter.txt")
    with pytest.raises(MalformedPair, match=r"Gigaword valid has .*valid.article.filter.txt but no "
                                            r".*sumdata/train/valid.title.filter.txt"):
        prepare_summarization.read_dataset("gigaword", str(tmp_path))


def test_gigaword_flat_layout_and_alignment(tmp_path):
    for split, suffix in (("train", ""), ("valid", ".filter"), ("test", "")):
        write_lines(tmp_path / f"{split}.article{suffix}.txt", GIGAWORD_ARTICLES)
        write_lines(tmp_path / f"{split}.title{suffix}.txt", GIGAWORD_TITLES)
    splits = prepare_summarization.read_dataset("gigaword", str(tmp_path)).splits
    assert all(splits[s] == (GIGAWORD_ARTICLES, GIGAWORD_TITLES) for s in ("train", "valid", "test"))
    write_lines(tmp_path / "train.title.txt", GIGAWORD_TITLES[:1])
    with pytest.raises(MalformedPair, match="has 2 lines but .*train.title.txt has 1"):
        read_gigaword(str(tmp_path / "train.article.txt"), str(tmp_path / "train.title.txt"))


def tifu_post(i, tldr, document=None):
    """A post with every field of Kim et al.'s tifu_all_tokenized_and_filtered.json (tldr is null for TIFU-short)."""
    document = f"so today i did thing {i}.\n\nit went badly." if document is None else document
    return {"title_tokenized": f"tifu by doing thing {i}".split(), "permalink": f"/r/tifu/comments/p{i}/",
            "title": f"TIFU by doing thing {i}", "url": f"https://www.reddit.com/r/tifu/comments/p{i}/",
            "num_comments": 1, "tldr": tldr, "created_utc": 1483228800.0 + i,
            "trimmed_title_tokenized": f"doing thing {i}".split(), "ups": 3, "selftext_html": f"<p>{document}</p>",
            "score": 3, "upvote_ratio": 0.9, "tldr_tokenized": tldr.split() if tldr else None,
            "selftext": document + (f" tl;dr: {tldr}" if tldr else ""), "trimmed_title": f"doing thing {i}",
            "selftext_without_tldr_tokenized": document.split(), "id": f"p{i}", "selftext_without_tldr": document}


def write_tifu(path, n_long, n_short, n_empty_document=0):
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n_long + n_short):
            f.write(json.dumps(tifu_post(i, f"i did thing {i}" if i < n_long else None)) + "\n")
        for i in range(n_empty_document):  # a TL;DR and nothing else: the real file has hundreds
            f.write(json.dumps(tifu_post(100 + i, "only a tl;dr", document=" \n")) + "\n")


def test_reddit_tifu_long_subset_and_split(tmp_path):
    write_tifu(tmp_path / "tifu.json", n_long=20, n_short=3, n_empty_document=2)
    with open(tmp_path / "tifu.json", "a", encoding="utf-8") as f:
        f.write(json.dumps(dict(tifu_post(99, "  "), tldr_tokenized=[])) + "\n")  # a blank TL;DR is no TL;DR
    data = read_reddit_tifu(str(tmp_path / "tifu.json"))
    assert len(data.sources) == 20 and data.without_tldr == 4 and data.empty_document == 2
    assert data.sources[0] == "so today i did thing 0. it went badly." and data.targets[0] == "i did thing 0"
    splits = data.split()
    assert [len(splits[s][0]) for s in ("train", "valid", "test")] == [16, 2, 2]
    assert splits["test"][1] == ["i did thing 18", "i did thing 19"]
    with open(tmp_path / "tifu.json", "a", encoding="utf-8") as f:
        f.write('{"tldr": "x", "selftext_without_tldr": 3}\n')
    with pytest.raises(MalformedPair, match=r"tifu.json:27: field 'selftext_without_tldr' is not text"):
        read_reddit_tifu(str(tmp_path / "tifu.json"))


@pytest.mark.parametrize("dataset", ["cnn_dm", "xsum"])
def test_missing_valid_split_is_taken_from_train_with_a_warning(dataset, shared_data, tmp_path, capsys):
    root = shared_data / "summarization"
    if dataset == "cnn_dm":
        os.symlink(root / "cnn_dm" / "train_sample_100.csv", tmp_path / "train.csv")
        n, n_valid = 100, 5
    else:
        os.symlink(root / "xsum" / "sample_10.jsonl", tmp_path / "train.jsonl")
        n, n_valid = 10, 1
    prepared = prepare_summarization.read_dataset(dataset, str(tmp_path))
    train, valid = prepared.splits["train"], prepared.splits["valid"]
    assert len(train[0]) == n - n_valid and len(valid[0]) == len(valid[1]) == n_valid
    full = read_article_pairs(str(tmp_path / ("train.csv" if dataset == "cnn_dm" else "train.jsonl")),
                              *prepare_summarization.FIELDS[dataset])
    assert train[0] + valid[0] == full[0] and train[1] + valid[1] == full[1]  # the last pairs, moved
    note = (f"no valid split in {tmp_path}: valid = the last {n_valid} of the {n} train pairs (5%), "
            f"train keeps the first {n - n_valid}")
    assert prepared.notes == [note] and capsys.readouterr().err == f"warning: {note}\n"


def test_one_line():
    assert one_line("  a\nb\t c \r\n d ") == "a b c d"


@pytest.mark.parametrize("dataset", ["cnn_dm", "xsum", "gigaword", "reddit_tifu"])
@pytest.mark.slow  # four fairseq-preprocess runs, 20+ s each on shared cores
def test_prepare_cli_writes_raw_text_and_binaries(dataset, shared_data, bpe_dir, tmp_path):
    root = shared_data / "summarization"
    raw = tmp_path / "raw_in"
    raw.mkdir()
    if dataset == "cnn_dm":  # the CSV layout for train, fairseq's .source/.target for valid
        os.symlink(root / "cnn_dm" / "train_sample_100.csv", raw / "train.csv")
        os.symlink(root / "cnn_dm" / "test_sample_42.source", raw / "val.source")
        os.symlink(root / "cnn_dm" / "test_sample_42.target", raw / "val.target")
        expected = {"train": 10, "valid": 10}
    elif dataset == "xsum":
        os.symlink(root / "xsum" / "sample_10.jsonl", raw / "train.jsonl")
        expected = {"train": 9, "valid": 1}  # valid: the last train pair
    elif dataset == "gigaword":
        write_gigaword_release(raw)  # --raw: the folder the release was extracted in
        expected = {"train": 3, "valid": 1, "test": 1}
    else:
        write_tifu(raw / "tifu.json", n_long=20, n_short=2, n_empty_document=3)
        raw = raw / "tifu.json"
        expected = {"train": 10, "valid": 2, "test": 2}
    out = tmp_path / "out"
    bin_dir = prepare_summarization.main([dataset, "--raw", str(raw), "--bpe-dir", bpe_dir, "--out-dir", str(out),
                                          "--workers", "1", "--limit", "10"])
    for split, n in expected.items():
        for side in ("source", "target"):
            with open(out / "raw" / f"{split}.{side}", encoding="utf-8") as f:
                assert len(f.read().splitlines()) == n, (split, side)
            assert os.path.isfile(os.path.join(bin_dir, f"{split}.source-target.{side}.bin"))
    counts = json.loads((out / "raw" / "counts.json").read_text())
    assert counts["pairs"] == expected and counts["limit"] == 10
    if dataset == "reddit_tifu":
        assert counts["skipped"] == {"without_tldr": 2, "empty_document": 3}
    assert bool(counts["notes"]) == (dataset == "xsum")


def test_prepare_cli_errors(bpe_dir, tmp_path, capsys):
    def error(argv):
        with pytest.raises(SystemExit) as exit_info:
            prepare_summarization.main(argv)
        assert exit_info.value.code == 2
        return capsys.readouterr().err

    assert error(["cnn_dm", "--raw", "/nonexistent", "--bpe-dir", bpe_dir, "--out-dir", str(tmp_path)]) == (
        "error: --raw /nonexistent: no such directory\n")
    (tmp_path / "train.source").write_text("a\nb\n")
    (tmp_path / "train.target").write_text("a\n")
    assert "has 2 lines but" in error(["cnn_dm", "--raw", str(tmp_path), "--bpe-dir", bpe_dir,
                                       "--out-dir", str(tmp_path / "o")])
    (tmp_path / "train.target").write_text("a\n\xff\n".encode("latin-1").decode("latin-1"), encoding="latin-1")
    assert f"{tmp_path / 'train.target'}:2: not UTF-8 text (byte 0xff, byte 1 of the line)" in error(
        ["cnn_dm", "--raw", str(tmp_path), "--bpe-dir", bpe_dir, "--out-dir", str(tmp_path / "o")])
    (tmp_path / "train.target").write_text("a\nb\n")
    assert f"--bpe-dir {tmp_path}: missing encoder.json" in error(
        ["cnn_dm", "--raw", str(tmp_path), "--bpe-dir", str(tmp_path), "--out-dir", str(tmp_path / "o")])
    (tmp_path / "tifu.json").write_text(json.dumps(tifu_post(0, None)) + "\n")
    assert "tifu.json: no post with both a TL;DR and a document" in error(
        ["reddit_tifu", "--raw", str(tmp_path / "tifu.json"), "--bpe-dir", bpe_dir, "--out-dir", str(tmp_path / "o")])
