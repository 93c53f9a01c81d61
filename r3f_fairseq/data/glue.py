"""Reading the nine GLUE tasks from their original TSV layouts.

Each task is described once, in :data:`GLUE_TASKS`: which columns hold the
first and second input and the label, whether the file has a header line and
how many fields a row has. Columns are looked up by header name where the
file has a header (robust to the 12- and 16-column MNLI layouts), by index
where it does not (CoLA). A row with the wrong number of fields, or a label
outside the task's label set (for STS-B: a score that is not a finite number
in [0, 5]), a file that is not UTF-8 or has no rows after its header, is a
:class:`MalformedRow` naming the flag, file and line: nothing is skipped.
"""

import math
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from r3f_fairseq.data.files import MalformedRow, read_text  # noqa: F401  (MalformedRow: glue.MalformedRow)


@dataclass(frozen=True)
class GlueTask:
    name: str
    input0: object  # header name (str) or column index (int)
    input1: Optional[object]
    label: Optional[object]
    labels: Optional[Tuple[str, ...]]  # None: regression (float label)
    label_range: Optional[Tuple[float, float]] = None  # regression: the scores' documented range
    header: bool = True
    num_fields: Optional[int] = None  # needed when there is no header
    splits: Tuple[str, ...] = ("train", "dev")  # labelled splits, file stems
    test_input0: Optional[object] = None  # unlabelled test files name columns differently
    test_input1: Optional[object] = None
    test_num_fields: Optional[int] = None

    @property
    def regression(self) -> bool:
        return self.labels is None

    @property
    def num_classes(self) -> int:
        return 1 if self.regression else len(self.labels)


_NLI = ("entailment", "not_entailment")
GLUE_TASKS: Dict[str, GlueTask] = {
    t.name: t
    for t in [
        GlueTask("CoLA", 3, None, 1, ("0", "1"), header=False, num_fields=4,
                 test_input0="sentence"),
        GlueTask("SST-2", "sentence", None, "label", ("0", "1")),
        GlueTask("MRPC", "#1 String", "#2 String", "Quality", ("0", "1")),
        GlueTask("STS-B", "sentence1", "sentence2", "score", None, label_range=(0.0, 5.0)),
        GlueTask("QQP", "question1", "question2", "is_duplicate", ("0", "1")),
        GlueTask("MNLI", "sentence1", "sentence2", "gold_label",
                 ("contradiction", "entailment", "neutral"),
                 splits=("train", "dev_matched", "dev_mismatched")),
        GlueTask("QNLI", "question", "sentence", "label", _NLI),
        GlueTask("RTE", "sentence1", "sentence2", "label", _NLI),
        GlueTask("WNLI", "sentence1", "sentence2", "label", ("0", "1")),
    ]
}


def get_task(name: str) -> GlueTask:
    for key, task in GLUE_TASKS.items():
        if key.lower() == name.lower().replace("_", "-") or key.lower().replace("-", "") == name.lower():
            return task
    raise ValueError(f"unknown GLUE task {name!r}; known: {', '.join(GLUE_TASKS)}")


@dataclass
class Example:
    input0: str
    input1: Optional[str]
    label: Optional[str]


def _column(header: Optional[List[str]], key, path: str, flag: Optional[str]) -> int:
    if isinstance(key, int):
        return key
    if header is None or key not in header:
        raise MalformedRow(path, 1, f"header has no column {key!r} (header: {header})", flag)
    return header.index(key)


def read_examples(task: GlueTask, path: str, labelled: bool = True,
                  flag: Optional[str] = "--glue-dir") -> Iterator[Example]:
    """Yield the examples of one GLUE TSV file, in file order.

    ``labelled=False`` reads an unlabelled test file (label is None).
    Fields are split on tabs only: GLUE's TSVs are not CSV-quoted, and
    quote characters are part of the text. ``flag`` is the command-line
    flag that gave the file, named in errors.
    """
    lines = read_text(path, flag, encoding="utf-8-sig").split("\n")  # -sig: MRPC starts with a BOM
    if lines and lines[-1] == "":
        lines.pop()
    header = None
    start = 0
    use_header = task.header or not labelled  # every GLUE test file has a header
    if use_header:
        if not lines:
            raise MalformedRow(path, 1, "empty file, expected a header line", flag)
        header = lines[0].rstrip("\r").split("\t")
        start = 1
    if len(lines) <= start:
        raise MalformedRow(path, start + 1, "no examples" + (" after the header line" if start else ""), flag)
    keys = (task.input0, task.input1, task.label) if labelled else (
        task.test_input0 or task.input0, task.test_input1 or task.input1, None)
    cols = [None if k is None else _column(header, k, path, flag) for k in keys]
    num_fields = len(header) if header is not None else task.num_fields
    for i in range(start, len(lines)):
        lineno = i + 1
        fields = lines[i].rstrip("\r").split("\t")
        if len(fields) != num_fields:
            raise MalformedRow(path, lineno, f"expected {num_fields} tab-separated fields, got {len(fields)}", flag)
        input0, input1, label = (None if c is None else fields[c].strip() for c in cols)
        if label is not None:
            _check_label(task, label, path, lineno, flag)
        yield Example(input0, input1, label)


def _check_label(task: GlueTask, label: str, path: str, lineno: int, flag: Optional[str]) -> None:
    if not task.regression:
        if label not in task.labels:
            raise MalformedRow(path, lineno, f"label {label!r} not in {task.name} labels {task.labels}", flag)
        return
    try:
        score = float(label)
    except ValueError:
        raise MalformedRow(path, lineno, f"label {label!r} is not a number", flag) from None
    if not math.isfinite(score):
        raise MalformedRow(path, lineno, f"label {label!r} is not a finite number", flag)
    low, high = task.label_range or (-math.inf, math.inf)
    if not low <= score <= high:
        raise MalformedRow(path, lineno, f"label {label!r} outside the {task.name} range [{low:g}, {high:g}]", flag)


def label_to_text(task: GlueTask, label: str) -> str:
    """The label as written to fairseq's label files: class names as they are,
    STS-B scores divided by 5 (into [0, 1]) as in fairseq's GLUE recipe."""
    if task.regression:
        return repr(float(label) / 5.0)
    return label


def split_columns(examples: Sequence[Example]) -> Dict[str, List[str]]:
    out = {"input0": [e.input0 for e in examples]}
    if examples and examples[0].input1 is not None:
        out["input1"] = [e.input1 for e in examples]
    if examples and examples[0].label is not None:
        out["label"] = [e.label for e in examples]
    return out
