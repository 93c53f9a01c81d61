"""Fetch the nine GLUE tasks in their original TSV layouts.

    python -m r3f_fairseq.data.download_glue --out-dir data/glue [TASK ...]
    python -m r3f_fairseq.data.download_glue --out-dir data/glue --from-dir /mnt/glue   # offline
    python -m r3f_fairseq.data.download_glue --out-dir data/glue --mirror https://my.mirror/glue

By default every file comes from its official address (:data:`SOURCES`, the
addresses of the GLUE team's ``download_glue_data.py``). ``--from-dir`` takes
the same files from a local directory instead: task directories already in
the GLUE layout (``RTE/train.tsv`` ...), the official zip files (``RTE.zip``,
``QQP-clean.zip``, ``QNLIv2.zip`` ...), or MRPC's raw Microsoft files.
``--mirror`` fetches ``<URL>/<file name>`` for every file. MRPC is not
distributed as TSVs: its ``train.tsv``/``dev.tsv``/``test.tsv`` are built
from ``msr_paraphrase_{train,test}.txt`` and the GLUE dev ids, exactly as the
GLUE script builds them. Every task ends as ``<out-dir>/<TASK>/`` with the
files :mod:`r3f_fairseq.data.prepare_glue` reads; a missing one is an error.
"""

import argparse
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence

from r3f_fairseq import errors
from r3f_fairseq.data import glue
from r3f_fairseq.data.files import MissingFile

#: where the GLUE scripts and the demo look first (``--glue-dir`` default), relative to the current directory
DEFAULT_OUT_DIR = os.path.join("data", "glue")

_GLUE = "https://dl.fbaipublicfiles.com/glue/data/"
_SENTEVAL = "https://dl.fbaipublicfiles.com/senteval/senteval_data/"
_MRPC_DEV_IDS = ("https://firebasestorage.googleapis.com/v0/b/mtl-sentence-representations.appspot.com/o/"
                 "data%2Fmrpc_dev_ids.tsv?alt=media&token=ec5c0836-31d5-48f4-b431-7480817f1adc")


@dataclass(frozen=True)
class Source:
    files: Dict[str, str]  # local file name -> official URL
    required: Sequence[str]  # files that must exist in <out-dir>/<TASK>/ afterwards


SOURCES: Dict[str, Source] = {
    "CoLA": Source({"CoLA.zip": _GLUE + "CoLA.zip"}, ("train.tsv", "dev.tsv")),
    "SST-2": Source({"SST-2.zip": _GLUE + "SST-2.zip"}, ("train.tsv", "dev.tsv")),
    "MRPC": Source({"msr_paraphrase_train.txt": _SENTEVAL + "msr_paraphrase_train.txt",
                    "msr_paraphrase_test.txt": _SENTEVAL + "msr_paraphrase_test.txt",
                    "mrpc_dev_ids.tsv": _MRPC_DEV_IDS}, ("train.tsv", "dev.tsv", "test.tsv")),
    "STS-B": Source({"STS-B.zip": _GLUE + "STS-B.zip"}, ("train.tsv", "dev.tsv")),
    "QQP": Source({"QQP-clean.zip": _GLUE + "QQP-clean.zip"}, ("train.tsv", "dev.tsv")),
    "MNLI": Source({"MNLI.zip": _GLUE + "MNLI.zip"}, ("train.tsv", "dev_matched.tsv", "dev_mismatched.tsv")),
    "QNLI": Source({"QNLIv2.zip": _GLUE + "QNLIv2.zip"}, ("train.tsv", "dev.tsv")),
    "RTE": Source({"RTE.zip": _GLUE + "RTE.zip"}, ("train.tsv", "dev.tsv")),
    "WNLI": Source({"WNLI.zip": _GLUE + "WNLI.zip"}, ("train.tsv", "dev.tsv")),
}
MRPC_TEST_HEADER = "index\t#1 ID\t#2 ID\t#1 String\t#2 String\n"


def _download(url: str, dest: str) -> None:
    print(f"[glue] downloading {url}", flush=True)
    with urllib.request.urlopen(url, timeout=60) as response, open(dest + ".part", "wb") as f:
        shutil.copyfileobj(response, f)
    os.replace(dest + ".part", dest)


def _fetch(task: str, name: str, from_dir: Optional[str], mirror: Optional[str], workdir: str) -> str:
    """The path of one source file of ``task``: local, from the mirror, or official."""
    if from_dir:
        for candidate in (os.path.join(from_dir, name), os.path.join(from_dir, task, name)):
            if os.path.isfile(candidate):
                return candidate
        if name == "mrpc_dev_ids.tsv":  # GLUE's own MRPC directory calls it dev_ids.tsv
            candidate = os.path.join(from_dir, "MRPC", "dev_ids.tsv")
            if os.path.isfile(candidate):
                return candidate
        raise MissingFile(f"--from-dir {from_dir}: no {task}/ directory with {', '.join(SOURCES[task].required)}"
                                f", and no {name}")
    url = mirror.rstrip("/") + "/" + urllib.parse.quote(name) if mirror else SOURCES[task].files[name]
    dest = os.path.join(workdir, name)
    _download(url, dest)
    return dest


def build_mrpc(train_txt: str, test_txt: str, dev_ids_tsv: str, out_dir: str) -> None:
    """GLUE's MRPC split: ``msr_paraphrase_train.txt`` rows whose (id1, id2) pair is
    in the dev ids go to dev.tsv, the others to train.tsv (both keep the raw
    header line); test.tsv numbers the test pairs and drops their labels."""
    with open(dev_ids_tsv, encoding="utf-8-sig") as f:
        dev_ids = set()
        for lineno, line in enumerate(f, start=1):
            ids = line.strip().split("\t")
            if len(ids) != 2:
                raise glue.MalformedRow(dev_ids_tsv, lineno, f"expected 2 tab-separated ids, got {len(ids)}")
            dev_ids.add(tuple(ids))
    os.makedirs(out_dir, exist_ok=True)
    with open(train_txt, encoding="utf-8", newline="") as raw, \
            open(os.path.join(out_dir, "train.tsv"), "w", encoding="utf-8", newline="") as train, \
            open(os.path.join(out_dir, "dev.tsv"), "w", encoding="utf-8", newline="") as dev:
        header = raw.readline()
        train.write(header)
        dev.write(header)
        for label, id1, id2, s1, s2 in _rows(raw, train_txt):
            (dev if (id1, id2) in dev_ids else train).write(f"{label}\t{id1}\t{id2}\t{s1}\t{s2}\n")
    with open(test_txt, encoding="utf-8", newline="") as raw, \
            open(os.path.join(out_dir, "test.tsv"), "w", encoding="utf-8", newline="") as test:
        raw.readline()
        test.write(MRPC_TEST_HEADER)
        for index, (_, id1, id2, s1, s2) in enumerate(_rows(raw, test_txt)):
            test.write(f"{index}\t{id1}\t{id2}\t{s1}\t{s2}\n")
    shutil.copyfile(dev_ids_tsv, os.path.join(out_dir, "dev_ids.tsv"))


def _rows(lines: Iterable[str], path: str):
    """The 5 fields of each row after the header line (line 1), checked."""
    for lineno, line in enumerate(lines, start=2):
        row = line.rstrip("\r\n").split("\t")
        if len(row) != 5:
            raise glue.MalformedRow(path, lineno, f"expected 5 tab-separated fields, got {len(row)}")
        yield row


def fetch_task(task: str, out_dir: str, from_dir: Optional[str] = None, mirror: Optional[str] = None) -> str:
    """Put ``task`` into ``out_dir/<TASK>/`` in the GLUE layout; returns that directory."""
    name = glue.get_task(task).name
    source = SOURCES[name]
    dest = os.path.join(out_dir, name)
    if from_dir and os.path.abspath(os.path.join(from_dir, name)) == os.path.abspath(dest):
        raise errors.UserError(f"--from-dir {from_dir} and --out-dir {out_dir} are the same directory")
    os.makedirs(out_dir, exist_ok=True)
    local_task_dir = os.path.join(from_dir, name) if from_dir else None
    if local_task_dir and all(os.path.isfile(os.path.join(local_task_dir, f)) for f in source.required):
        shutil.copytree(local_task_dir, dest, dirs_exist_ok=True)
    else:
        with tempfile.TemporaryDirectory(dir=out_dir) as workdir:
            paths = {f: _fetch(name, f, from_dir, mirror, workdir) for f in source.files}
            if name == "MRPC":
                build_mrpc(paths["msr_paraphrase_train.txt"], paths["msr_paraphrase_test.txt"],
                           paths["mrpc_dev_ids.tsv"], dest)
            else:
                (archive,) = paths.values()
                _extract(archive, name, out_dir)
    missing = [f for f in source.required if not os.path.isfile(os.path.join(dest, f))]
    if missing:
        raise FileNotFoundError(f"{name}: {dest} lacks {', '.join(missing)} after fetching")
    return dest


def _extract(archive: str, task: str, out_dir: str) -> None:
    """Unzip a GLUE archive whose members live under ``<TASK>/`` into ``out_dir``."""
    try:
        z = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise errors.UserError(f"{archive}: not a zip archive ({e}); delete it and fetch it again") from None
    with z:
        members = [m for m in z.namelist() if not m.startswith("__MACOSX")]
        bad = [m for m in members if os.path.isabs(m) or ".." in m.split("/")]
        if bad:
            raise errors.UserError(f"{archive}: unsafe member names {bad[:3]}")
        if not any(m.startswith(task + "/") for m in members):
            raise errors.UserError(f"{archive}: no {task}/ directory inside (members: {members[:5]})")
        z.extractall(out_dir, members=members)


@errors.cli
def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tasks", nargs="*", help=f"tasks (default: all nine): {', '.join(SOURCES)}")
    p.add_argument("--out-dir", default=DEFAULT_OUT_DIR,
                   help="where <TASK>/ directories go (default: data/glue in the current directory, "
                        "where the GLUE scripts look first)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--from-dir", help="take the files from this local directory instead of downloading")
    source.add_argument("--mirror", help="download <URL>/<file name> instead of the official addresses")
    args = p.parse_args(argv)
    if args.from_dir and not os.path.isdir(args.from_dir):
        p.error(f"--from-dir {args.from_dir}: no such directory")
    try:
        tasks = [glue.get_task(t).name for t in args.tasks] or list(SOURCES)
    except ValueError as e:
        p.error(str(e))
    os.makedirs(args.out_dir, exist_ok=True)
    for task in tasks:
        print(f"[glue] {task} -> {fetch_task(task, args.out_dir, args.from_dir, args.mirror)}", flush=True)


if __name__ == "__main__":
    main()
