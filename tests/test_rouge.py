"""ROUGE evaluation (r3f_fairseq.rouge) and the Table 4 aggregator: hand-checked scores, identity
with rouge-score on every pair of real files, the bit-parallel LCS, the sentence splitter, PTB
tokenisation, the bootstrap, bad input and the command lines."""

import csv
import json
import random
import subprocess
import sys

import pytest
from rouge_score import rouge_scorer

from r3f_fairseq import rouge
from r3f_fairseq.experiments.summarization import table4 as summarization_table
from r3f_fairseq.rouge import lcs, scorer

ALL = ["rouge1", "rouge2", "rougeL", "rougeLsum"]

CNN_LIKE = [
    ("Harry Potter author J. K. Rowling has published a new book. It tells the story of a detective. "
     "Critics praised the plot.",
     "J. K. Rowling released a new detective novel on Tuesday. The book was praised by critics for its plot."),
    ("The U.S. economy grew by 3.5 percent in the second quarter. Economists had expected 3 percent growth!",
     "The economy of the U.S. grew 3.5 percent in the second quarter, beating expectations of 3 percent."),
    ("Mr. Smith, 45, was arrested on Monday. Police said he'd been driving at 100 mph.",
     "Police arrested Mr. Smith on Monday. He was driving at 100 mph, police said. \"It was reckless.\""),
]


def fmt(per_example, metric):
    s = per_example[metric]
    return s["p"], s["r"], s["f"]


# ---------------------------------------------------------------------------
# scores
# ---------------------------------------------------------------------------

def test_hand_checked_scores():
    # ref unigrams: the x2, cat, sat, on, mat (6); the hypothesis shares all but "sat" -> 5/6.
    # bigrams: ref {the cat, cat sat, sat on, on the, the mat}, hyp shares the cat, on the, the mat -> 3/5.
    # LCS: "the cat on the mat" -> 5/6.
    [s] = rouge.score(["the cat was on the mat"], ["the cat sat on the mat"])
    assert fmt(s, "rouge1") == pytest.approx((5 / 6, 5 / 6, 5 / 6))
    assert fmt(s, "rouge2") == pytest.approx((3 / 5, 3 / 5, 3 / 5))
    assert fmt(s, "rougeL") == pytest.approx((5 / 6, 5 / 6, 5 / 6))
    assert fmt(s, "rougeLsum") == pytest.approx((5 / 6, 5 / 6, 5 / 6))  # one sentence: same as rougeL


def test_precision_and_recall_differ_for_different_lengths():
    # hyp "the cat" (2 tokens) against the 6-token reference: P = 2/2, R = 2/6, F = 2PR/(P+R) = 1/2
    [s] = rouge.score(["the cat"], ["the cat sat on the mat"])
    assert fmt(s, "rouge1") == pytest.approx((1.0, 1 / 3, 0.5))
    assert fmt(s, "rouge2") == pytest.approx((1.0, 1 / 5, 1 / 3))


@pytest.mark.parametrize("stemmer", [True, False])
def test_rouge1_2_L_equal_rouge_score(stemmer):
    hyps, refs = [h for h, _ in CNN_LIKE], [r for _, r in CNN_LIKE]
    reference = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=stemmer)
    for ours, hyp, ref in zip(rouge.score(hyps, refs, stemmer=stemmer), hyps, refs):
        theirs = reference.score(ref, hyp)
        for metric in ("rouge1", "rouge2", "rougeL"):
            assert fmt(ours, metric) == pytest.approx(tuple(theirs[metric]))


def test_stemmer_matches_inflections():
    [stemmed] = rouge.score(["cats were running"], ["the cat runs"], stemmer=True)
    [plain] = rouge.score(["cats were running"], ["the cat runs"], stemmer=False)
    assert plain["rouge1"]["f"] == 0
    assert stemmed["rouge1"]["p"] == pytest.approx(2 / 3)  # "cats" -> "cat", "running" and "runs" -> "run"


def test_rougeLsum_splits_sentences():
    ref = "The cat sat down. The dog ran away."
    hyp = "The dog ran away. The cat sat down."
    [s] = rouge.score([hyp], [ref])
    # one token sequence: the LCS is "the cat sat down" (or "the dog ran away"), 4 of 8 tokens
    assert s["rougeL"]["f"] == pytest.approx(0.5)
    # per sentence: each reference sentence is matched in full by one hypothesis sentence
    assert s["rougeLsum"]["f"] == pytest.approx(1.0)


def test_rougeLsum_equals_rouge_score_on_newline_joined_sentences():
    reference = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True)
    for hyp, ref in CNN_LIKE:
        [ours] = rouge.score([hyp], [ref])
        theirs = reference.score("\n".join(rouge.split_sentences(ref)), "\n".join(rouge.split_sentences(hyp)))
        assert fmt(ours, "rougeLsum") == pytest.approx(tuple(theirs["rougeLsum"]))
    hyp, ref = CNN_LIKE[0]
    manual = reference.score("J. K. Rowling released a new detective novel on Tuesday.\n"
                             "The book was praised by critics for its plot.",
                             "Harry Potter author J. K. Rowling has published a new book.\n"
                             "It tells the story of a detective.\nCritics praised the plot.")
    assert fmt(rouge.score([hyp], [ref])[0], "rougeLsum") == pytest.approx(tuple(manual["rougeLsum"]))


def test_ptb_tokenisation_changes_clitic_matches():
    # default tokens: hyp [i, don, t, know], ref [i, do, not, know] -> 2 of 4 unigrams
    # PTB: hyp [i, do, n, t, know] -> "i", "do", "know" match: P = 3/5, R = 3/4
    [plain] = rouge.score(["I don't know."], ["I do not know."])
    [ptb] = rouge.score(["I don't know."], ["I do not know."], ptb=True)
    assert fmt(plain, "rouge1") == pytest.approx((0.5, 0.5, 0.5))
    assert fmt(ptb, "rouge1")[:2] == pytest.approx((3 / 5, 3 / 4))
    assert fmt(ptb, "rougeLsum")[:2] == pytest.approx((3 / 5, 3 / 4))


def test_score_rejects_unaligned_lists():
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        rouge.score(["a", "b"], ["a"])


# ---------------------------------------------------------------------------
# identity with rouge-score: the LCS, every pair of real files, processes
# ---------------------------------------------------------------------------

def test_bit_parallel_lcs_picks_rouge_scores_lcs():
    # few distinct tokens: many LCSs of equal length, so the backtrack's choice is tested, not just the length
    rng = random.Random(0)
    for _ in range(3000):
        vocabulary = rng.randint(1, 5)
        ref = [str(rng.randrange(vocabulary)) for _ in range(rng.randint(0, 25))]
        can = [str(rng.randrange(vocabulary)) for _ in range(rng.randint(0, 100))]  # > 64 bits too
        assert lcs.lcs_indices(ref, can) == rouge_scorer.lcs_ind(ref, can), (ref, can)
        assert lcs.lcs_length(ref, can) == rouge_scorer._lcs_table(ref, can)[-1][-1]


def lower_tokenised(text):
    """The form of most published outputs and references: PTB tokens, lower case, " . " between sentences."""
    return rouge.ptb_tokenize(text).lower()


def real_pairs(shared_data):
    """{name: (hypotheses, references)} from the shared CNN/DM and XSum samples, cased and lower-cased/tokenised."""
    root = shared_data / "summarization"
    articles = (root / "cnn_dm" / "test_sample_42.source").read_text(encoding="utf-8").splitlines()
    highlights = (root / "cnn_dm" / "test_sample_42.target").read_text(encoding="utf-8").splitlines()
    xsum = [json.loads(line) for line in (root / "xsum" / "sample_10.jsonl").read_text(encoding="utf-8").splitlines()]
    lead3 = [" ".join(rouge.split_sentences(a)[:3]) for a in articles]
    lead10 = [" ".join(rouge.split_sentences(a)[:10]) for a in articles]  # ~250 tokens: many-word bit rows
    return {
        "cnn_dm lead-3": (lead3, highlights),
        "cnn_dm lead-10 (first 12)": (lead10[:12], highlights[:12]),
        "cnn_dm lead-3, lower-cased tokenised": ([lower_tokenised(h) for h in lead3],
                                                 [lower_tokenised(r) for r in highlights]),
        "cnn_dm other article's highlights": (highlights[1:] + highlights[:1], highlights),
        "xsum lead-2 (documents hold newlines)": (
            ["\n".join(x["document"].splitlines()[:2]) for x in xsum], [x["summary"] for x in xsum]),
    }


@pytest.mark.parametrize("stemmer", [True, False])
def test_every_pair_of_real_files_equals_rouge_score(shared_data, stemmer):
    reference = rouge_scorer.RougeScorer(ALL, use_stemmer=stemmer)
    for name, (hyps, refs) in real_pairs(shared_data).items():
        if not stemmer and name != "cnn_dm lead-3":
            continue
        ours, _ = rouge.score_pairs(hyps, refs, stemmer=stemmer)
        for i, (mine, hyp, ref) in enumerate(zip(ours, hyps, refs)):
            # rouge-score's convention for rougeLsum: one sentence per line
            theirs = reference.score("\n".join(rouge.split_sentences(ref)), "\n".join(rouge.split_sentences(hyp)))
            assert mine == tuple(tuple(theirs[m]) for m in ALL), (name, i)  # every float, bit for bit
            if "\n" not in hyp:  # and rouge1/2/L are rouge-score's on the raw texts
                raw = reference.score(ref, hyp)
                assert mine[:3] == tuple(tuple(raw[m]) for m in ALL[:3]), (name, i)


def test_sentences_of_real_lines_do_not_depend_on_case_or_tokenisation(shared_data):
    hyps, refs = real_pairs(shared_data)["cnn_dm lead-3"]
    for text in refs + hyps:
        assert len(rouge.split_sentences(lower_tokenised(text))) == len(rouge.split_sentences(text)), text
    assert min(len(rouge.split_sentences(r)) for r in refs) >= 3  # every highlight has 3+ sentences
    # so summary-level ROUGE-L is (nearly) the same on both forms, and far from the unsplit text's
    def rlsum(h, r, split="auto"):
        return rouge.aggregate(rouge.score(h, r, split=split), n_bootstrap=0)["rougeLsum"]["f"]
    cased = rlsum(hyps, refs)
    lowered = rlsum([lower_tokenised(h) for h in hyps], [lower_tokenised(r) for r in refs])
    assert lowered == pytest.approx(cased, abs=0.5)
    assert rlsum([lower_tokenised(h) for h in hyps], [lower_tokenised(r) for r in refs], split="none") < cased - 5


def test_processes_and_progress_bar_give_the_same_scores(monkeypatch, capsys):
    hyps, refs = [h for h, _ in CNN_LIKE] * 4, [r for _, r in CNN_LIKE] * 4
    monkeypatch.setattr(scorer, "CHUNK", 2)  # 6 chunks
    one, rules = rouge.score_pairs(hyps, refs, workers=1)
    two, _ = rouge.score_pairs(hyps, refs, workers=2, progress=True)
    assert one == two and rules == {"period": 24}
    assert capsys.readouterr().err.endswith(f"\r[rouge] 12/12 pairs |{'#' * 30}|\n")


def test_rouge_tools_import_neither_torch_nor_fairseq():
    code = ("import sys\n"
            "import r3f_fairseq.rouge, r3f_fairseq.data.prepare_summarization, r3f_fairseq.experiments.bench.rouge\n"
            "try:\n    r3f_fairseq.rouge.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'fairseq', 'nltk') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "usage: r3f-rouge" in proc.stdout


# ---------------------------------------------------------------------------
# sentence splitting and tokenisation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, sentences", [
    ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
    ("J. K. Rowling wrote it. It sold well.", ["J. K. Rowling wrote it.", "It sold well."]),
    ("The U.S. team won, e.g. in Jan. 2020. Fans cheered.", ["The U.S. team won, e.g. in Jan. 2020.", "Fans cheered."]),
    ("Growth was 3.5 percent. 2 firms failed.", ["Growth was 3.5 percent.", "2 firms failed."]),
    ("Stop! Why? Because.", ["Stop! Why? Because."]),  # files2rouge ends sentences at "." tokens only
    ('He said "Go home." Then he left.', ['He said "Go home."', "Then he left."]),
    ('He left. "Why?" she asked.', ["He left.", '"Why?" she asked.']),
    ("It rained (a lot.) Then it stopped.", ["It rained (a lot.)", "Then it stopped."]),
    ("it ended. then it began again.", ["it ended.", "then it began again."]),  # whatever the case
    ("apples, pears etc. Nothing else.", ["apples, pears etc. Nothing else."]),
    ("Wait... what", ["Wait... what"]),
    # lower-cased, tokenised (published outputs): every "." token ends one, closers stay with it
    ("mr. smith met dr. jones . they talked .", ["mr. smith met dr. jones .", "they talked ."]),
    ("j. k. rowling wrote it . it sold well", ["j. k. rowling wrote it .", "it sold well"]),
    ("he said `` go home . '' then he left .", ["he said `` go home . ''", "then he left ."]),
    ("it rained -lrb- a lot . -rrb- then it stopped", ["it rained -lrb- a lot . -rrb-", "then it stopped"]),
    ("growth was 3.5 percent . 2 firms failed .", ["growth was 3.5 percent .", "2 firms failed ."]),
    # markers: PEGASUS's <n>, newlines
    ("first one. still first<n>second", ["first one. still first", "second"]),
    ("first line\nsecond line. Third one.\n\n", ["first line", "second line. Third one."]),
    ("", []),
])
def test_split_sentences(text, sentences):
    assert rouge.split_sentences(text) == sentences


def test_split_rules():
    text = "One. Two<n>three. four"
    assert rouge.split_sentences(text, "period") == ["One.", "Two", "three.", "four"]
    assert rouge.split_sentences(text, "marker") == ["One. Two", "three. four"]
    assert rouge.split_sentences(text, "none") == ["One. Two three. four"]
    with pytest.raises(ValueError, match="sentence split must be one of"):
        rouge.split_sentences(text, "nltk")


@pytest.mark.parametrize("text, tokens", [
    ("I don't know, he said.", "I do n't know , he said ."),
    ("She'd've gone; they're here and it's Jo's.", "She 'd 've gone ; they 're here and it 's Jo 's ."),
    ("We can't, won't, I'm, you'll, we've.", "We ca n't , wo n't , I 'm , you 'll , we 've ."),
    ('"Hello," she said (quietly).', "`` Hello , '' she said -LRB- quietly -RRB- ."),
    ("“Curly” [sic] {x}", "`` Curly '' -LSB- sic -RSB- -LCB- x -RCB-"),
    ("It cost $5.50, i.e. 10% of 1,000 at 10:30.", "It cost $ 5.50 , i.e. 10 % of 1,000 at 10:30 ."),
    ("Mr. Smith of the U.S. said wait...", "Mr. Smith of the U.S. said wait ..."),
    ("the dogs' toys don’t", "the dogs ' toys do n't"),
])
def test_ptb_tokenize(text, tokens):
    assert rouge.ptb_tokenize(text) == tokens
    assert rouge.ptb_tokenize(tokens) == tokens  # already tokenised text is kept


# ---------------------------------------------------------------------------
# aggregation and bootstrap
# ---------------------------------------------------------------------------

def fake_scores(values):
    return [{m: {"p": v, "r": v / 2, "f": v} for m in rouge.METRICS} for v in values]


def test_aggregate_means():
    agg = rouge.aggregate(fake_scores([0.2, 0.4, 0.9]), n_bootstrap=200)
    assert agg["rouge1"]["f"] == pytest.approx(50.0)
    assert agg["rouge1"]["p"] == pytest.approx(50.0)
    assert agg["rouge1"]["r"] == pytest.approx(25.0)
    assert set(agg) == set(rouge.METRICS)


def test_bootstrap_is_seeded_and_contains_the_mean():
    per_example = fake_scores([0.1, 0.3, 0.35, 0.5, 0.62, 0.8, 0.2, 0.45])
    first = rouge.aggregate(per_example, n_bootstrap=500, seed=3)
    assert rouge.aggregate(per_example, n_bootstrap=500, seed=3) == first
    assert rouge.aggregate(per_example, n_bootstrap=500, seed=4) != first
    for s in first.values():
        assert s["f_low"] < s["f"] < s["f_high"]
    narrow = rouge.aggregate(per_example, n_bootstrap=500, seed=3, confidence=0.5)["rouge1"]
    assert first["rouge1"]["f_low"] <= narrow["f_low"] < narrow["f_high"] <= first["rouge1"]["f_high"]


def test_bootstrap_width_zero_for_identical_scores_and_one_example():
    same = rouge.aggregate(fake_scores([0.37] * 5))["rouge2"]
    assert same["f_low"] == same["f_high"] == same["f"]
    single = rouge.aggregate(fake_scores([0.61]))["rougeL"]
    assert single["f_low"] == single["f_high"] == single["f"] == pytest.approx(61.0)


def test_aggregate_without_bootstrap_and_bad_arguments():
    assert rouge.aggregate(fake_scores([0.5]), n_bootstrap=0)["rouge1"]["f_low"] is None
    with pytest.raises(ValueError, match="no examples"):
        rouge.aggregate([])
    with pytest.raises(ValueError, match="n_bootstrap must be >= 0"):
        rouge.aggregate(fake_scores([0.5]), n_bootstrap=-1)
    with pytest.raises(ValueError, match="confidence"):
        rouge.aggregate(fake_scores([0.5]), confidence=95)


# ---------------------------------------------------------------------------
# files and command line
# ---------------------------------------------------------------------------

def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    hyp = write_lines(tmp_path / "test.hypo", [h for h, _ in CNN_LIKE])
    ref = write_lines(tmp_path / "test.target", [r for _, r in CNN_LIKE])
    return hyp, ref


def run_main(main, argv, capsys):
    """Run a CLI's main; return (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_read_summaries(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("first summary \r\n\nthird\u2028still third\n", encoding="utf-8", newline="")
    summaries, empty = rouge.read_summaries(str(path), "--hyp")
    assert summaries == ["first summary", "", "third\u2028still third"] and empty == [2]


def test_cli_prints_table_and_writes_json_and_tsv(files, tmp_path, capsys):
    hyp, ref = files
    out_json, tsv = tmp_path / "scores.json", tmp_path / "per_example.tsv"
    code, out, _ = run_main(rouge.main, ["--hyp", hyp, "--ref", ref, "--bootstrap", "100", "--json", str(out_json),
                                         "--per-example", str(tsv), "--dataset", "cnn_dm", "--method", "r3f"], capsys)
    assert code == 0
    assert "| metric | F1 | 95% CI | P | R |" in out and "| rougeLsum |" in out

    result = json.loads(out_json.read_text())
    assert {k: result[k] for k in ("name", "hyp", "ref", "n", "stemmer", "ptb", "dataset", "method", "split",
                                   "split_rules_used", "empty_hypotheses")} == {
        "name": "test.hypo", "hyp": hyp, "ref": ref, "n": 3, "stemmer": True, "ptb": False,
        "dataset": "cnn_dm", "method": "r3f", "split": "auto", "split_rules_used": {"period": 6},
        "empty_hypotheses": 0}
    expected = rouge.aggregate(rouge.score(*zip(*CNN_LIKE)), n_bootstrap=100)
    for metric, s in expected.items():
        assert result["scores"][metric] == pytest.approx(s)
    for s in result["scores"].values():
        assert set(s) == {"f", "f_low", "f_high", "p", "r"} and s["f_low"] <= s["f"] <= s["f_high"]

    rows = list(csv.reader(tsv.open(), delimiter="\t"))
    assert rows[0] == ["index", "rouge1_f", "rouge2_f", "rougeL_f", "rougeLsum_f"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    per_example = rouge.score(*zip(*CNN_LIKE))
    assert [float(r[1]) for r in rows[1:]] == pytest.approx([100 * s["rouge1"]["f"] for s in per_example], abs=0.005)
    assert all(len(r[4].split(".")[1]) == 2 for r in rows[1:])


def test_cli_options_change_scores(files, tmp_path, capsys):
    hyp, ref = files
    scores = {}
    for name, extra in {"default": [], "no-stem": ["--no-stemmer"], "ptb": ["--ptb-tokenize"]}.items():
        out_json = tmp_path / f"{name}.json"
        assert run_main(rouge.main, ["--hyp", hyp, "--ref", ref, "--bootstrap", "0", "--json", str(out_json),
                                     *extra], capsys)[0] == 0
        scores[name] = json.loads(out_json.read_text())
    assert scores["no-stem"]["stemmer"] is False and scores["ptb"]["ptb"] is True
    assert scores["default"]["scores"]["rouge1"]["f_low"] is None
    assert scores["no-stem"]["scores"]["rouge1"]["f"] < scores["default"]["scores"]["rouge1"]["f"]


@pytest.mark.parametrize("problem", ["mismatch", "empty-ref", "missing", "bootstrap", "utf8", "json-dir",
                                     "tsv-dir", "workers"])
def test_cli_rejects_bad_input(files, tmp_path, capsys, problem):
    hyp, ref = files
    argv = ["--hyp", hyp, "--ref", ref]
    if problem == "mismatch":
        write_lines(tmp_path / "test.target", [r for _, r in CNN_LIKE[:2]])
        message = f"--hyp {hyp} has 3 lines but --ref {ref} has 2 (line i of one is scored against line i of the other)"
    elif problem == "empty-ref":
        write_lines(tmp_path / "test.target", [CNN_LIKE[0][1], " ", CNN_LIKE[2][1]])
        message = f"--ref {ref}:2: empty reference (1 in all)"
    elif problem == "missing":
        argv[3] = str(tmp_path / "nope.txt")
        message = f"--ref {tmp_path / 'nope.txt'}: no such file"
    elif problem == "bootstrap":
        argv += ["--bootstrap", "-1"]
        message = "--bootstrap must be >= 0, got -1"
    elif problem == "utf8":
        (tmp_path / "test.hypo").write_bytes("caf\u00e9 one\ntwo\nthe \xff end\n".encode("utf-8").replace(
            b"\xc3\xbf", b"\xff"))
        message = f"--hyp {hyp}:3: not UTF-8 text (byte 0xff, byte 5 of the line)"
    elif problem == "json-dir":
        argv += ["--json", str(tmp_path / "no_dir" / "scores.json")]
        message = f"--json {tmp_path / 'no_dir' / 'scores.json'}: directory {tmp_path / 'no_dir'} does not exist"
    elif problem == "tsv-dir":
        argv += ["--per-example", str(tmp_path)]
        message = f"--per-example {tmp_path}: is a directory"
    else:
        argv += ["--workers", "0"]
        message = "--workers must be >= 1, got 0"
    code, out, err = run_main(rouge.main, argv, capsys)
    assert code == 2 and err == f"error: {message}\n" and out == ""  # one line, nothing scored


def test_empty_hypothesis_scores_zero_with_a_warning(files, tmp_path, capsys):
    hyp, ref = files
    write_lines(tmp_path / "test.hypo", [CNN_LIKE[0][0], "", CNN_LIKE[2][0], ""])  # the last one: a trailing blank line
    write_lines(tmp_path / "test.target", [r for _, r in CNN_LIKE] + [CNN_LIKE[0][1]])
    out_json = tmp_path / "scores.json"
    code, out, err = run_main(rouge.main, ["--hyp", hyp, "--ref", ref, "--json", str(out_json), "--bootstrap", "0"],
                              capsys)
    assert code == 0 and "| rouge1 |" in out
    assert f"warning: --hyp {hyp}: 2 of 4 hypotheses are empty (lines 2, 4)" in err
    result = json.loads(out_json.read_text())
    assert result["empty_hypotheses"] == 2
    reference = rouge_scorer.RougeScorer(ALL, use_stemmer=True)
    hyps = [CNN_LIKE[0][0], "", CNN_LIKE[2][0], ""]
    refs = [r for _, r in CNN_LIKE] + [CNN_LIKE[0][1]]
    theirs = [reference.score("\n".join(rouge.split_sentences(r)), "\n".join(rouge.split_sentences(h)))
              for h, r in zip(hyps, refs)]
    assert theirs[1]["rouge1"].fmeasure == 0 and theirs[3]["rougeLsum"].fmeasure == 0
    for metric in ALL:
        assert result["scores"][metric]["f"] == pytest.approx(100 * sum(t[metric].fmeasure for t in theirs) / 4)


def test_cli_help(capsys):
    code, out, _ = run_main(rouge.main, ["--help"], capsys)
    assert code == 0 and "usage" in out and "--ptb-tokenize" in out and "files2rouge" in out


# ---------------------------------------------------------------------------
# Table 4
# ---------------------------------------------------------------------------

def fake_result(path, dataset, method, f):
    scores = {m: {"f": f + i, "f_low": f + i - 1, "f_high": f + i + 1, "p": f, "r": f}
              for i, m in enumerate(rouge.METRICS)}
    path.write_text(json.dumps({"name": path.stem, "dataset": dataset, "method": method, "n": 7, "scores": scores}))
    return str(path)


def test_table4_rows_and_csv(tmp_path, capsys):
    results = [fake_result(tmp_path / "a.json", "CNN/DM", "BART", 40.0),
               fake_result(tmp_path / "b.json", "CNN/DM", "BART+R3F", 41.0),
               fake_result(tmp_path / "c.json", "Gigaword", "BART+R3F", 30.0)]
    table_csv = tmp_path / "table4.csv"
    code, out, _ = run_main(summarization_table.main, ["--results", *results, "--csv", str(table_csv)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "| method | CNN/DM R1 | CNN/DM R2 | CNN/DM RL | Gigaword R1 | Gigaword R2 | Gigaword RL |"
    # RL is rougeLsum, the fourth metric (f + 3)
    assert lines[2] == "| BART | 40.00 | 41.00 | 43.00 | - | - | - |"
    assert lines[3] == "| BART+R3F | 41.00 | 42.00 | 44.00 | 30.00 | 31.00 | 33.00 |"
    assert "RL is ROUGE-Lsum" in out

    rows = list(csv.DictReader(table_csv.open()))
    assert [(r["dataset"], r["method"]) for r in rows] == [("CNN/DM", "BART"), ("CNN/DM", "BART+R3F"),
                                                            ("Gigaword", "BART+R3F")]
    assert rows[1]["rougeLsum_f"] == "44.00" and rows[1]["rougeL_f"] == "43.00" and rows[1]["n"] == "7"


def test_table4_from_rouge_json(files, tmp_path, capsys):
    hyp, ref = files
    out_json = tmp_path / "std.json"
    run_main(rouge.main, ["--hyp", hyp, "--ref", ref, "--json", str(out_json), "--dataset", "CNN/DM",
                          "--method", "std"], capsys)
    code, out, _ = run_main(summarization_table.main, ["--results", str(out_json)], capsys)
    r = json.loads(out_json.read_text())["scores"]
    assert code == 0 and f"| std | {r['rouge1']['f']:.2f} | {r['rouge2']['f']:.2f} | {r['rougeLsum']['f']:.2f} |" in out


def test_table4_rejects_bad_input(tmp_path, capsys):
    a = fake_result(tmp_path / "a.json", "CNN/DM", "BART", 40.0)
    b = fake_result(tmp_path / "b.json", "CNN/DM", "BART", 41.0)
    code, _, err = run_main(summarization_table.main, ["--results", a, b], capsys)
    assert code != 0 and f"{b} and {a} both hold dataset 'CNN/DM', method 'BART'" in err
    (tmp_path / "bad.json").write_text('{"scores": {}}')
    code, _, err = run_main(summarization_table.main, ["--results", str(tmp_path / "bad.json")], capsys)
    assert code != 0 and "bad.json: no scores.rouge1.f" in err
    code, _, err = run_main(summarization_table.main, ["--results", str(tmp_path / "none.json")], capsys)
    assert code != 0 and "--results " + str(tmp_path / "none.json") + ": no such file" in err


# ---------------------------------------------------------------------------
# benchmark
# ---------------------------------------------------------------------------

def test_bench_pairs_are_real_deterministic_and_scored_identically(shared_data):
    from r3f_fairseq.experiments.bench import rouge as bench_rouge

    data = str(shared_data / "summarization")
    hyps, refs = bench_rouge.make_pairs(data, 30, seed=0)
    assert (hyps, refs) == bench_rouge.make_pairs(data, 30, seed=0) != bench_rouge.make_pairs(data, 30, seed=1)
    highlights = (shared_data / "summarization" / "cnn_dm" / "test_sample_42.target").read_text().splitlines()
    assert len(hyps) == 30 and any(r in highlights for r in refs)
    assert all(1 <= len(rouge.split_sentences(h)) <= 3 for h in hyps)
    result = bench_rouge.run(hyps, refs, workers=1)
    assert result["pairs"] == 30 and result["mismatched_pairs"] == 0
    assert "wall-time ratio r3f-rouge / rouge-score" in bench_rouge.markdown(result)
