"""The README's demo command, shortened."""

import pytest

from r3f_fairseq.experiments.glue import demo


@pytest.mark.slow
def test_demo_prints_one_row_per_method(shared_data, tmp_path, capsys):
    demo.main(["--glue-dir", str(shared_data / "glue"), "--out-dir", str(tmp_path),
               "--train-examples", "64", "--updates", "2"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| method")]
    assert [r.split("|")[1].strip() for r in rows] == ["std", "r3f", "r4f"]
    log = tmp_path / "minilm-cpu" / "SST-2" / "r4f" / "seed1" / "train.log"
    assert log.read_text().startswith("$ fairseq-train ")
    assert "dev accuracy" in out and "elapsed" in out
    assert "Please install tensorboardX" not in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--updates", "0"], "--updates must be > 0"),
    (["--glue-dir", "/nonexistent"], "--glue-dir /nonexistent: no SST-2/train.tsv"),
    (["--train-examples", "-1"], "--train-examples must be > 0"),
])
def test_demo_rejects_bad_input_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        demo.main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
