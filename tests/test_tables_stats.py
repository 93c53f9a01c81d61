"""Table 2 and the probing tables from small result.json / probes.json fixtures: mean ± sd, median,
n, and each method against std paired by seed."""

import json

import pytest

from r3f_fairseq.experiments import stats
from r3f_fairseq.experiments.glue import table2
from r3f_fairseq.experiments.probing import table as probing_table


def write_result(root, task, method, seed, value, metric="accuracy"):
    run = root / "minilm-cpu" / task / method / f"seed{seed}"
    run.mkdir(parents=True)
    (run / "result.json").write_text(json.dumps({"task": task, "method": method, "seed": seed, "metric": metric,
                                                 "best": {metric: value}, "walltime_s": 100.0, "complete": True}))


def test_table2_from_result_files_pairs_each_method_with_std_by_seed(tmp_path):
    std = {1: 60.0, 2: 50.0, 3: 70.0}
    r3f = {3: 71.0, 2: 51.0, 4: 99.0}  # +1 on the common seeds 2 and 3; no seed 1, seed 4 has no std partner
    for seed, value in std.items():
        write_result(tmp_path, "RTE", "std", seed, value)
    for seed, value in r3f.items():
        write_result(tmp_path, "RTE", "r3f", seed, value)
    write_result(tmp_path, "MRPC", "std", 1, 85.0, metric="f1")
    table = table2.main(["--runs", str(tmp_path), "--csv", str(tmp_path / "t.csv")])
    assert "| std | 85.0 (n=1) | 60.0 ± 10.0, median 60.0, best 70.0 (n=3) |" in table
    assert "| r3f | - | 73.7 ± 24.1, median 71.0, best 99.0 (n=3) |" in table
    assert "| r3f - std | - | +1.0 [+1.0, +1.0]* (n=2) |" in table  # by position: -9, +21, +29
    assert "Method - std, paired by seed" in table and "10,000 resamples" in table
    csv = (tmp_path / "t.csv").read_text().splitlines()
    assert csv[0] == ("task,method,metric,seeds,mean,sd,median,best,minus_std,ci95_lo,ci95_hi,paired_seeds,"
                      "t95_lo,t95_hi,seeds_above_0,mean_walltime_s")
    assert "RTE,r3f,accuracy,3,73.667,24.111,71.0,99.0,1.0,1.0,1.0,2,1.0,1.0,2,100.0" in csv


def test_table2_csv_rounds_the_median_like_the_mean(tmp_path):
    for seed, value in {1: 11.1, 2: 19.1}.items():  # statistics.median gives 15.100000000000001
        write_result(tmp_path, "CoLA", "std", seed, value, metric="mcc")
    table2.main(["--runs", str(tmp_path), "--csv", str(tmp_path / "t.csv")])
    assert (tmp_path / "t.csv").read_text().splitlines()[1].startswith("CoLA,std,mcc,2,15.1,5.657,15.1,19.1,")


def test_table2_plot_panels_hold_the_whole_error_bar_and_the_majority_level():
    two_seeds = {"values": [84.8, 86.3], "mean": 85.55, "sd": 1.0607}  # mean ± sd reaches past both seeds
    low, high = table2.y_range([two_seeds], majority=None)
    assert low < 85.55 - 1.0607 and high > 85.55 + 1.0607
    low, high = table2.y_range([two_seeds], majority=50.0)
    assert low < 50.0 < high
    low, high = table2.y_range([{"values": [58.5], "mean": 58.5, "sd": None}], majority=None)
    assert low < 58.5 < high


def test_a_table_of_single_seeds_says_so(tmp_path):
    write_result(tmp_path, "RTE", "std", 1, 60.0)
    write_result(tmp_path, "RTE", "r4f", 1, 58.0)
    table = table2.main(["--runs", str(tmp_path)])
    assert "| r4f | 58.0 (n=1) |" in table and "Cells: one seed each (n=1)" in table
    assert "| r4f - std | -2.0 (n=1, no interval) |" in table and "median" not in table.split("\n\n")[0]


def probe(method, seed, stage, after, value):
    return {"experiment": "degradation", "method": method, "seed": seed, "probe_task": "SST-2",
            "metric": "accuracy", "value": value, "majority": 50.9, "stage": stage, "after": after}


def test_degradation_table_gives_each_stage_mean_sd_and_paired_differences(tmp_path):
    noise = (-1.0, 1.0, -0.5, 0.5, 0.0)
    records = [probe("std", s, 1, "SST-2", 80.0 + s) for s in range(1, 6)]
    records += [probe("r3f", s, 1, "SST-2", 80.0 + s + n) for s, n in zip(range(1, 6), noise)]  # no effect
    records += [probe("std", s, 2, "QNLI", 70.0 + s) for s in range(1, 6)]
    records += [probe("r3f", s, 2, "QNLI", 73.0 + s + n / 10) for s, n in zip(range(1, 6), noise)]  # +3, all seeds
    path = tmp_path / "probes.json"
    path.write_text(json.dumps(records))
    table = probing_table.main([str(path), "--csv", str(tmp_path / "t.csv"), "--png", str(tmp_path / "p.png")])
    assert "| std | 83.0 ± 1.6, median 83.0 (n=5) | 73.0 ± 1.6, median 73.0 (n=5) |" in table
    assert "| majority class | 50.9 | 50.9 |" in table
    row = next(line for line in table.splitlines() if line.startswith("| r3f - std |"))
    at_sst2, at_qnli = row.split(" | ")[1:3]
    assert at_sst2.startswith("+0.0 [-") and "*" not in at_sst2  # symmetric noise: includes 0
    assert at_qnli.startswith("+3.0 [+2.9, +3.1]*")  # every seed +3: excludes 0
    d = stats.paired_difference({s: 80.0 + s + n for s, n in zip(range(1, 6), noise)},
                                {s: 80.0 + s for s in range(1, 6)})
    assert f"[{d.lo:+.1f}, {d.hi:+.1f}]" in at_sst2
    csv = (tmp_path / "t.csv").read_text().splitlines()
    assert csv[0].endswith(",minus_std,ci95_lo,ci95_hi,paired_seeds,t95_lo,t95_hi,seeds_above_0")
    assert "degradation,r3f,2: after QNLI,76.00,1.61,75.95,5,3.00,2.94,3.06,5,2.90,3.10,5" in csv
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_retention_differences_pair_each_task_with_stds_same_task():
    records = [{"experiment": "retention", "method": m, "seed": s, "probe_task": t, "metric": "accuracy",
                "value": v + s, "cycle": 2, "stage": 5}
               for m, t, v in (("std", "RTE", 50.0), ("std", "SST-2", 80.0), ("r4f", "RTE", 52.0), ("r4f", "SST-2", 79.0))
               for s in (1, 2)]
    table = probing_table.markdown(records)
    assert "| r4f - std / RTE | +2.0 [+2.0, +2.0]* (n=2) |" in table
    assert "| r4f - std / SST-2 | -1.0 [-1.0, -1.0]* (n=2) |" in table


def test_two_probes_of_one_seed_in_one_cell_are_an_error():
    with pytest.raises(Exception, match="two probes for std, 1: after SST-2, seed 1"):
        probing_table.markdown([probe("std", 1, 1, "SST-2", 80.0), probe("std", 1, 1, "SST-2", 81.0)])
