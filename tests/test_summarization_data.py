"""Summarisation preparation: every raw form of CNN/DM, XSum, Gigaword and Reddit TIFU."""

import csv
import json
import os

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


def test_gigaword_rush_release_kept_as_released(tmp_path):
    (tmp_path / "train.article.txt").write_text("\n".join(GIGAWORD_ARTICLES) + "\n")
    (tmp_path / "train.title.txt").write_text("\n".join(GIGAWORD_TITLES) + "\n")
    sources, targets = read_gigaword(str(tmp_path / "train.article.txt"), str(tmp_path / "train.title.txt"))
    assert sources == GIGAWORD_ARTICLES and targets == GIGAWORD_TITLES
    (tmp_path / "train.title.txt").write_text(GIGAWORD_TITLES[0] + "\n")
    with pytest.raises(MalformedPair, match="has 2 lines but .*train.title.txt has 1"):
        read_gigaword(str(tmp_path / "train.article.txt"), str(tmp_path / "train.title.txt"))


def tifu_post(i, tldr):
    return {"id": f"post{i}", "title": f"tifu by doing thing {i}",
            "selftext": f"so today i did thing {i}.\n\nit went badly. tl;dr: {tldr}",
            "selftext_without_tldr": f"so today i did thing {i}.\n\nit went badly.",
            "tldr": tldr, "ups": 3, "num_comments": 1, "upvote_ratio": 0.9}


def write_tifu(path, n_long, n_short):
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n_long + n_short):
            f.write(json.dumps(tifu_post(i, f"i did thing {i}" if i < n_long else None)) + "\n")


def test_reddit_tifu_long_subset_and_split(tmp_path):
    write_tifu(tmp_path / "tifu.json", n_long=20, n_short=3)
    data = read_reddit_tifu(str(tmp_path / "tifu.json"))
    assert len(data.sources) == 20 and data.without_tldr == 3
    assert data.sources[0] == "so today i did thing 0. it went badly." and data.targets[0] == "i did thing 0"
    splits = data.split()
    assert [len(splits[s][0]) for s in ("train", "valid", "test")] == [16, 2, 2]
    assert splits["test"][1] == ["i did thing 18", "i did thing 19"]
    with open(tmp_path / "tifu.json", "a", encoding="utf-8") as f:
        f.write('{"tldr": "x", "selftext_without_tldr": ""}\n')
    with pytest.raises(MalformedPair, match=r"tifu.json:24: field 'selftext_without_tldr' is empty"):
        read_reddit_tifu(str(tmp_path / "tifu.json"))


def test_one_line():
    assert one_line("  a\nb\t c \r\n d ") == "a b c d"


@pytest.mark.parametrize("dataset", ["cnn_dm", "xsum", "gigaword", "reddit_tifu"])
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
        expected = {"train": 10}
    elif dataset == "gigaword":
        for split in ("train", "valid"):
            suffix = ".filter" if split == "valid" else ""
            (raw / f"{split}.article{suffix}.txt").write_text("\n".join(GIGAWORD_ARTICLES) + "\n")
            (raw / f"{split}.title{suffix}.txt").write_text("\n".join(GIGAWORD_TITLES) + "\n")
        expected = {"train": 2, "valid": 2}
    else:
        write_tifu(raw / "tifu.json", n_long=20, n_short=2)
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


def test_prepare_cli_errors(bpe_dir, tmp_path, capsys):
    with pytest.raises(SystemExit, match="--raw /nonexistent: no such directory"):
        prepare_summarization.main(["cnn_dm", "--raw", "/nonexistent", "--bpe-dir", bpe_dir, "--out-dir", str(tmp_path)])
    (tmp_path / "train.source").write_text("a\nb\n")
    (tmp_path / "train.target").write_text("a\n")
    with pytest.raises(SystemExit):
        prepare_summarization.main(["cnn_dm", "--raw", str(tmp_path), "--bpe-dir", bpe_dir, "--out-dir", str(tmp_path / "o")])
    assert "has 2 lines but" in capsys.readouterr().err
    (tmp_path / "train.target").write_text("a\nb\n")
    with pytest.raises(SystemExit):
        prepare_summarization.main(["cnn_dm", "--raw", str(tmp_path), "--bpe-dir", str(tmp_path), "--out-dir", str(tmp_path / "o")])
    assert f"--bpe-dir {tmp_path}: missing encoder.json" in capsys.readouterr().err
