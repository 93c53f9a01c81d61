"""The cost benchmark (scripts/bench/cost.sh) and the Figure-1 walltime plot, on tiny inputs."""

import json

import pytest

from r3f_fairseq.errors import UserError
from r3f_fairseq.experiments.bench import cost as bench_cost
from r3f_fairseq.experiments.glue import walltime_figure

TINY = ["--arch", "roberta_base", "--encoder-layers", "1", "--encoder-embed-dim", "16",
        "--encoder-ffn-embed-dim", "32", "--encoder-attention-heads", "2", "--cpu"]


def test_benchmark_times_every_method_on_the_same_batches(tmp_path):
    data = bench_cost.write_data_dir(str(tmp_path), None, vocab_size=100)
    names = ["std", "r3f", "r4f", "smart-s1", "freelb-k2", "upstream-r3f"]
    methods = bench_cost.make_methods(names, data, TINY, None, "cpu")
    # every method starts from the same encoder weights
    reference = methods[0].model.state_dict()
    for m in methods[1:]:
        for key, value in m.model.state_dict().items():
            if "classification_heads" not in key and key in reference:
                assert value.equal(reference[key]), (m.name, key)
    batches = bench_cost.fixed_batches(2, batch_size=2, seq_len=8, vocab=100, device="cpu")
    results = bench_cost.benchmark(methods, batches, updates=2, warmup=1)
    assert list(results) == [m.name for m in methods]
    for name, r in results.items():
        assert r["updates"] == 2 and r["median_s"] > 0 and r["peak_mib"] > 0, name
    table = bench_cost.markdown("tiny", results)
    assert "| std |" in table and "| 1.00 |" in table and "3+3S" in table


def test_upstream_r3f_criterion_is_found_without_clashing_with_ours():
    import fairseq.criterions

    cls = bench_cost.upstream_r3f_class()
    assert cls is not None and cls.__module__ == "upstream_rxf_sentence_prediction_r3f"
    assert fairseq.criterions.CRITERION_REGISTRY["sentence_prediction_r3f"].__module__.startswith("r3f_fairseq")


@pytest.mark.parametrize("argv, message", [
    (["--updates", "0"], "--updates must be >= 1"),
    (["--methods", "r3f"], "--methods must include std"),
    (["--minilm-dir", "/no/such/dir"], "--minilm-dir /no/such/dir: no model.pt"),
])
def test_benchmark_bad_arguments_name_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench_cost.main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def fake_run(root, method, seed, best_update, stamps):
    run = root / "minilm-cpu" / "SST-2" / method / f"seed{seed}"
    run.mkdir(parents=True)
    (run / "result.json").write_text(json.dumps({"seed": seed, "walltime_s": 100.0, "best_update": best_update}))
    lines = ["$ fairseq-train ..."]
    for update, second in stamps:
        lines.append(f"2026-01-01 00:00:{second:02d} | INFO | valid | "
                     + json.dumps({"valid_accuracy": "80", "valid_num_updates": str(update)}))
    lines.append("2026-01-01 00:00:59 | INFO | fairseq_cli.train | done training")
    (run / "train.log").write_text("\n".join(lines) + "\n")


def test_walltime_to_best_is_read_from_the_log_timestamps(tmp_path):
    fake_run(tmp_path, "std", 1, 40, [(20, 10), (40, 19), (60, 29)])
    fake_run(tmp_path, "r3f", 1, 60, [(20, 10), (40, 19), (60, 29)])
    data = walltime_figure.collect(str(tmp_path), "minilm-cpu", "SST-2")
    # 100 s in all, the best validation 59 - 19 = 40 s before the end of the log
    assert data["std"][0]["to_best_s"] == pytest.approx(60.0)
    assert data["r3f"][0]["to_best_s"] == pytest.approx(70.0)
    png = tmp_path / "fig.png"
    walltime_figure.plot("SST-2", data, str(png), "")
    assert png.stat().st_size > 1000
    table = walltime_figure.markdown("SST-2", data)
    assert "| std | 1 | 60 (n=1) | - | 60 - 60 | 100 |" in table
    assert "| r3f - std | +10 (n=1, no interval) |" in table.replace("+10.0", "+10")


def test_walltime_table_has_mean_sd_and_the_paired_difference_to_std(tmp_path):
    for seed, best in ((1, 40), (2, 20), (3, 60)):  # to best: 60, 51, 70 s
        fake_run(tmp_path, "std", seed, best, [(20, 10), (40, 19), (60, 29)])
    for seed, best in ((2, 40), (3, 60)):  # to best: 60, 70 s; no seed 1
        fake_run(tmp_path, "r3f", seed, best, [(20, 10), (40, 19), (60, 29)])
    data = walltime_figure.collect(str(tmp_path), "minilm-cpu", "SST-2")
    assert [r["seed"] for r in data["std"]] == [1, 2, 3]
    table = walltime_figure.markdown("SST-2", data)
    assert "| std | 3 | 60 ± 10 | 60 | 51 - 70 | 100 |" in table and "| r3f | 2 | 65 ± 7 | 65 | 60 - 70 | 100 |" in table
    # seeds 2 and 3: +9 and 0 s (by position it would be 60 - 60 and 70 - 51)
    assert "| r3f - std | +4.5 [+0.0, +9.0] (n=2) |" in table
    walltime_figure.plot("SST-2", data, str(tmp_path / "fig.png"), "")


def test_walltime_figure_fails_without_the_best_validation(tmp_path):
    fake_run(tmp_path, "std", 1, 80, [(20, 10), (40, 19)])
    with pytest.raises(UserError, match="no validation at the best update 80"):
        walltime_figure.collect(str(tmp_path), "minilm-cpu", "SST-2")
