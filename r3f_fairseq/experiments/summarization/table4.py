"""The paper's Table 4 (ROUGE per summarisation dataset and method) from ROUGE JSON files.

    r3f-summarization-table4 --results a.json b.json ... [--csv table4.csv]
    (also: scripts/tables/summarization_table4.sh, python -m r3f_fairseq.experiments.summarization.table4)

Each file is the ``--json`` output of :mod:`r3f_fairseq.rouge`; its ``dataset``
and ``method`` (set with that program's ``--dataset`` / ``--method``) place it in
the table, a missing method falling back to the run's ``name``. Rows are
methods and each dataset gets an R1 / R2 / RL column group, where RL is
``rougeLsum`` (summary-level ROUGE-L, what files2rouge reports as ROUGE-L).
Datasets and methods appear in the order of the files given. ``--csv`` also
writes one row per dataset x method.
"""

import argparse
import json
import os
import sys
from typing import Dict, List, Tuple

from r3f_fairseq.errors import UserError, cli
from r3f_fairseq.experiments import tables
from r3f_fairseq.rouge import METRICS

#: Table 4's columns: (header, metric in the ROUGE JSON)
COLUMNS = (("R1", "rouge1"), ("R2", "rouge2"), ("RL", "rougeLsum"))


def load_result(path: str) -> Dict:
    """One ROUGE JSON, checked to hold the F1 of every metric in :data:`COLUMNS`."""
    with open(path, encoding="utf-8") as f:
        try:
            result = json.load(f)
        except json.JSONDecodeError as e:
            raise UserError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(result, dict) or not isinstance(result.get("scores"), dict):
        raise UserError(f"{path}: no 'scores' (expected the --json output of r3f_fairseq.rouge)")
    for _, metric in COLUMNS:
        if not isinstance(result["scores"].get(metric), dict) or "f" not in result["scores"][metric]:
            raise UserError(f"{path}: no scores.{metric}.f (expected the --json output of r3f_fairseq.rouge)")
    result["dataset"] = result.get("dataset") or "?"
    result["method"] = result.get("method") or result.get("name") or os.path.basename(path)
    result["path"] = path
    return result


def collect(paths: List[str]) -> Dict[Tuple[str, str], Dict]:
    """``{(dataset, method): result}`` in the order of ``paths``; a repeated pair is an error."""
    table = {}
    for path in paths:
        result = load_result(path)
        key = (result["dataset"], result["method"])
        if key in table:
            raise UserError(f"{path} and {table[key]['path']} both hold dataset {key[0]!r}, method {key[1]!r}")
        table[key] = result
    return table


def markdown(table: Dict[Tuple[str, str], Dict]) -> str:
    """Rows = methods, an R1 / R2 / RL column group per dataset, F1 x 100."""
    datasets = list(dict.fromkeys(d for d, _ in table))
    methods = list(dict.fromkeys(m for _, m in table))
    header = ["method", *(f"{d} {h}" for d in datasets for h, _ in COLUMNS)]
    rows = [[m, *(f"{table[(d, m)]['scores'][metric]['f']:.2f}" if (d, m) in table else "-"
                  for d in datasets for _, metric in COLUMNS)] for m in methods]
    return "\n".join([tables.markdown(header, rows), "", "ROUGE F1 x 100. RL is ROUGE-Lsum (summary-level LCS "
                      "over sentences, files2rouge's ROUGE-L), not the sentence-level rougeL."])


def write_csv(table: Dict[Tuple[str, str], Dict], path: str) -> None:
    """One row per dataset x method: the F1 (x 100) of every metric and its bootstrap interval."""
    rows = []
    for (d, m), r in table.items():
        scores = [r["scores"].get(metric, {}).get(k) for metric in METRICS for k in ("f", "f_low", "f_high")]
        rows.append([d, m, r.get("n")] + ["" if v is None else f"{v:.2f}" for v in scores] + [r["path"]])
    tables.write_csv(path, ["dataset", "method", "n"] + [f"{m}_{k}" for m in METRICS for k in ("f", "f_low", "f_high")]
                     + ["json"], rows)


@cli
def main(argv=None) -> str:
    p = argparse.ArgumentParser(prog="r3f-summarization-table4", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", nargs="+", required=True, metavar="JSON",
                   help="--json outputs of r3f_fairseq.rouge")
    p.add_argument("--csv", help="also write the table as CSV")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    for path in args.results:
        if not os.path.isfile(path):
            raise UserError(f"--results {path}: no such file")
    table = collect(args.results)
    text = markdown(table)
    print(text)
    if args.csv:
        write_csv(table, args.csv)
    return text


if __name__ == "__main__":
    main()
