"""What every experiment shares: a run's budget, where runs and data live, and the
life of one fairseq-train run in its folder.

A run of any family (GLUE, probing, summarisation) is a value built by that
family (``glue.finetune.GlueRun``, ``summarization.finetune.SummarizationRun``)
that turns into one fairseq-train command; :func:`train` executes it:

1. locks the run folder (:class:`~r3f_fairseq.experiments.files.FolderLock`);
2. fingerprints the settings: the full command and a digest of every data file;
3. asks :func:`finished` whether the folder already holds this run: a complete
   ``result.json`` with the same fingerprint is reused; one made with other
   settings stops with a message naming what differs, unless the user chose
   ``--rerun`` (archive the old log and result, start afresh) or ``--keep``
   (reuse it as it is); an interrupted run with the same settings resumes from
   its ``checkpoint_last.pt`` (fairseq's own auto-resume);
4. runs fairseq-train, appending to ``train.log`` (never overwriting the log of
   a finished run), printing progress with elapsed time and ETA;
5. writes ``result.json`` atomically, last: the settings, the fingerprint, the
   versions of torch / fairseq / this package, the git commit, and what the
   family's ``summarise`` read from the validations.
"""

import glob
import hashlib
import json
import os
import re
import shlex
import subprocess
import time
import zipfile
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from r3f_fairseq.errors import UserError
from r3f_fairseq.experiments import files
from r3f_fairseq.experiments.fairseq_process import Progress, Record, json_records, run_tool

#: ``--rerun`` / ``--keep``: what to do with a run folder made with other settings
ON_CHANGE = ("stop", "rerun", "keep")


def warmup_updates(updates: int) -> int:
    """The warm-up rule of fairseq's GLUE recipes: 6 % of the updates, at least one."""
    return max(1, round(0.06 * updates))


@dataclass(frozen=True)
class Budget:
    """How long a run trains and how often it is evaluated (and saved)."""
    updates: int
    warmup: int
    validations: int = 5  # evenly spaced, the last at the end

    @property
    def validate_every(self) -> int:
        return max(1, self.updates // self.validations)


def pinned_world(recipe_gpus: int, update_freq: int, gpus: Optional[int] = None) -> List[str]:
    """``--distributed-world-size N --update-freq F`` with N x F = the recipe's GPUs x update-freq,
    so that the global batch is the recipe's whatever the number of GPUs (``gpus``, default
    the recipe's)."""
    n = gpus or recipe_gpus
    steps = recipe_gpus * update_freq
    if n <= 0 or steps % n:
        raise UserError(f"--gpus {n}: the recipe's global batch is {recipe_gpus} GPU(s) x update-freq {update_freq}; "
                        f"use a number of GPUs that divides {steps}")
    return ["--distributed-world-size", str(n), "--update-freq", str(steps // n)]


def shared_data(name: str) -> Optional[str]:
    """``../shared/data/<name>`` relative to the current directory, if it is there."""
    path = os.path.join("..", "shared", "data", name)
    return path if os.path.exists(path) else None


def default_dir(local: str, shared: str) -> str:
    """``local`` (relative to the current directory) if present, else the shared copy if
    present, else ``local`` (so that the error names where we looked first)."""
    return local if os.path.exists(local) else (shared_data(shared) or local)


# ---------------------------------------------------------------------------- command lines

#: fairseq flags whose value result.json records: ours to set, not fairseq's after "--"
OWN_FLAGS = {"--lr": "--lr", "--max-update": "--updates", "--total-num-update": "--updates",
             "--warmup-updates": "--updates", "--seed": "SEED", "--save-dir": "--out-dir",
             "--distributed-world-size": "--gpus", "--update-freq": "--gpus",
             "--validate-interval-updates": "--validations", "--save-interval-updates": "--validations",
             "--finetune-from-model": "--pretrained", "--restore-file": "--pretrained"}


def split_fairseq_flags(argv: List[str]) -> Tuple[List[str], List[str]]:
    """``(our arguments, the fairseq flags after "--")``."""
    if "--" not in argv:
        return argv, []
    return argv[:argv.index("--")], argv[argv.index("--") + 1:]


def check_extra(extra: List[str]) -> Tuple[str, ...]:
    """Fairseq flags after "--", refusing those whose value result.json states from our own options."""
    for word in extra:
        if word in OWN_FLAGS:
            raise UserError(f"-- {word}: pass {OWN_FLAGS[word]} (before --) so that result.json records it")
    return tuple(extra)


def add_on_change_options(p) -> None:
    """``--rerun`` / ``--keep``: what to do with a run folder made with other settings (default: stop)."""
    again = p.add_mutually_exclusive_group()
    again.add_argument("--rerun", dest="on_change", action="store_const", const="rerun", default="stop",
                       help="a run folder made with other settings: run again (old log kept as train.log.N)")
    again.add_argument("--keep", dest="on_change", action="store_const", const="keep",
                       help="a run folder made with other settings: use its result as it is")


# ---------------------------------------------------------------------------- fingerprints

#: files of a prepared data directory that fairseq-train does not read: fairseq-preprocess's log names
#: the (temporary, absolute) folder it wrote to, so it differs between two preparations of the same data
NOT_DATA = ("preprocess.log",)


def data_digest(path: str) -> Dict[str, str]:
    """sha256 of every data file under ``path`` (a prepared data directory), by relative path."""
    digests = {}
    for name in sorted(glob.glob(os.path.join(path, "**", "*"), recursive=True)):
        if os.path.isfile(name) and os.path.basename(name) not in NOT_DATA:
            h = hashlib.sha256()
            with open(name, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            digests[os.path.relpath(name, path)] = h.hexdigest()
    return digests


def fingerprint(args: Sequence[str], data: str) -> Dict[str, object]:
    """The settings a finished run is compared on: the full command (the plugin's own
    directory written as ``<r3f_fairseq>``, so that moving the checkout changes nothing)
    and the digest of the data."""
    from r3f_fairseq import USER_DIR

    command = ["<r3f_fairseq>" if word == USER_DIR else word for word in args]
    return {"command": ["fairseq-train", *command], "data": data_digest(data)}


def comparable(made: Dict) -> Dict:
    """A recorded fingerprint as :func:`fingerprint` makes it now: results made before ``NOT_DATA``
    existed digested fairseq-preprocess's log too."""
    data = made.get("data")
    if not isinstance(data, dict):
        return made
    return {**made, "data": {k: v for k, v in data.items() if os.path.basename(k) not in NOT_DATA}}


def differences(old: Dict, new: Dict) -> List[str]:
    """What differs between two fingerprints, in words (flags and data files)."""
    said = []
    before, after = _flags(old.get("command", [])), _flags(new.get("command", []))
    for flag in sorted(before.keys() | after.keys()):
        if before.get(flag) != after.get(flag):
            said.append(f"{flag} {_show(before.get(flag))} (now {_show(after.get(flag))})")
    old_data, new_data = old.get("data", {}), new.get("data", {})
    changed = sorted(k for k in old_data.keys() | new_data.keys() if old_data.get(k) != new_data.get(k))
    if changed:
        said.append(f"data files {', '.join(changed[:3])}{' ...' if len(changed) > 3 else ''}")
    return said or ["the command"]


def _flags(command: Sequence[str]) -> Dict[str, Tuple[str, ...]]:
    """{flag: its values} of an argument list we built (positional arguments under "")."""
    flags: Dict[str, Tuple[str, ...]] = {}
    key = ""
    for word in command[1:]:
        if word.startswith("--"):
            key = word
            flags[key] = ()
        else:
            flags[key] = flags.get(key, ()) + (word,)
    return flags


def _show(values) -> str:
    return "absent" if values is None else (" ".join(values) or "set")


# ---------------------------------------------------------------------------- done?

RESULT_KEYS = ("fingerprint", "best", "validations", "walltime_s")


def read_result(run_dir: str) -> Optional[Dict]:
    """The run's ``result.json`` if it is complete, else None."""
    path = os.path.join(run_dir, "result.json")
    try:
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(result, dict) or not result.get("complete") or any(k not in result for k in RESULT_KEYS):
        return None
    return result


def finished(run_dir: str, wanted: Dict, on_change: str = "stop") -> Optional[Dict]:
    """The one "already done?" check. Returns the finished result to reuse, or None
    after making the folder ready to (re)run; raises UserError when the folder holds
    a run made with other settings and ``on_change`` is "stop"."""
    result = read_result(run_dir)
    started = _read_json(os.path.join(run_dir, "settings.json"))
    made = result["fingerprint"] if result else started
    made = comparable(made) if isinstance(made, dict) else made
    if made is None:
        if os.path.exists(os.path.join(run_dir, "result.json")):
            print(f"[run] {run_dir}/result.json is incomplete: running again", flush=True)
            _archive(run_dir)
        elif glob.glob(os.path.join(run_dir, "checkpoint*.pt")):
            print(f"[run] {run_dir}: checkpoints of an unknown earlier run: starting afresh", flush=True)
            _remove_checkpoints(run_dir)
        return None
    if made == wanted:
        if result:
            return result
        if _complete_last_checkpoint(run_dir):
            print(f"[run] {run_dir}: resuming the interrupted run from checkpoint_last.pt", flush=True)
        return None
    what = "a finished run" if result else "an interrupted run"
    if on_change == "keep" and result:
        print(f"[run] {run_dir}: keeping {what} made with other settings (--keep): "
              f"{'; '.join(differences(made, wanted))}", flush=True)
        return result
    if on_change == "rerun" or (on_change == "keep" and not result):
        print(f"[run] {run_dir}: running again with the new settings; the old log and result are kept "
              f"as train.log.N / result.json.N", flush=True)
        _archive(run_dir)
        return None
    raise UserError(f"{run_dir} holds {what} made with other settings: {'; '.join(differences(made, wanted))}; "
                    "pass --rerun to run it again with the new settings, --keep to use the old result, "
                    "or another --out-dir")


def _complete_last_checkpoint(run_dir: str) -> bool:
    """Whether ``checkpoint_last.pt`` can be resumed from, after mending a torn one.

    fairseq saves each checkpoint to the first of its names atomically (``.tmp`` then
    rename) but *copies* it to the others (``checkpoint_best.pt``, ``checkpoint_last.pt``)
    in place, so a run killed during the copy leaves a truncated ``checkpoint_last.pt``
    that fairseq-train cannot load. Its complete source is still there: the newest
    complete checkpoint in the folder, which replaces it. With none, the run starts afresh."""
    last = os.path.join(run_dir, "checkpoint_last.pt")
    if not os.path.isfile(last):
        return False
    if zipfile.is_zipfile(last):  # torch.save writes a zip archive; a torn one lacks its end record
        return True
    complete = [p for p in glob.glob(os.path.join(run_dir, "checkpoint*.pt")) if p != last and zipfile.is_zipfile(p)]
    if not complete:
        print(f"[run] {run_dir}: checkpoint_last.pt is incomplete (the run was stopped while fairseq wrote it) "
              "and no complete checkpoint is left: starting afresh", flush=True)
        os.remove(last)
        return False
    newest = max(complete, key=os.path.getmtime)
    print(f"[run] {run_dir}: checkpoint_last.pt is incomplete (the run was stopped while fairseq copied it): "
          f"restoring it from {os.path.basename(newest)}, the newest complete checkpoint", flush=True)
    files.copy_file(newest, last)
    return True


def _read_json(path: str) -> Optional[Dict]:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _archive(run_dir: str) -> None:
    """Move the old log and result aside (``train.log.1``, ...) and drop the old checkpoints."""
    n = 1
    while any(os.path.exists(os.path.join(run_dir, f"{name}.{n}")) for name in ("train.log", "result.json")):
        n += 1
    for name in ("train.log", "result.json", "settings.json"):
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            os.replace(path, f"{path}.{n}")
    _remove_checkpoints(run_dir)


def _remove_checkpoints(run_dir: str, keep: Sequence[str] = ()) -> None:
    for path in glob.glob(os.path.join(run_dir, "checkpoint*.pt")):
        if os.path.basename(path) not in keep:
            os.remove(path)


# ---------------------------------------------------------------------------- one run

def checkpoint_flags(budget: Budget, save: bool) -> List[str]:
    """Save at every validation (so checkpoint_best.pt is the best validation) and keep
    checkpoint_last.pt for auto-resume; update checkpoints beyond the last one are deleted."""
    if not save:
        return ["--no-save"]
    return ["--save-interval-updates", str(budget.validate_every), "--keep-interval-updates", "1",
            "--no-epoch-checkpoints"]


@dataclass
class Training:
    """One fairseq-train run, as :func:`train` executes it."""
    run_dir: str
    args: List[str]  # fairseq-train's arguments
    data: str  # the data directory fairseq-train reads (fingerprinted)
    settings: Dict[str, object]  # what result.json states about the run (family, task, method, seed, budget, lr...)
    prefix: str  # progress lines start with it
    updates: int
    metric: str  # the validation metric progress lines show
    maximize: bool = True
    needs: Sequence[Tuple[str, str]] = ()  # (flag, file) that must exist to train (not to reuse a finished run)


def validations(run_dir: str) -> List[Record]:
    """Every validation in ``train.log`` (all attempts of a resumed run), one per update:
    a validation repeated after a resume replaces the earlier one."""
    with open(os.path.join(run_dir, "train.log"), encoding="utf-8", errors="replace") as f:
        records = json_records(f.read(), "valid")
    by_update = {int(r["valid_num_updates"]): r for r in records}
    return [by_update[u] for u in sorted(by_update)]


_LOG_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) \|", re.M)  # fairseq's log lines start so


def attempt_seconds(log_text: str) -> List[float]:
    """Seconds each attempt in a ``train.log`` ran, from its first to its last time-stamped
    line: what an attempt killed before it could say so (``kill -9``, a lost machine) cost."""
    seconds = []
    for attempt in re.split(r"^\$ ", log_text, flags=re.M)[1:]:
        stamps = [time.mktime(time.strptime(t, "%Y-%m-%d %H:%M:%S")) for t in _LOG_TIME.findall(attempt)]
        seconds.append(max(stamps) - min(stamps) if stamps else 0.0)
    return seconds


def best_of(records: List[Record], key: str, maximize: bool = True) -> Record:
    """fairseq's choice of checkpoint_best.pt: the last of equally good validations."""
    if any(not isinstance(r.get(key), float) for r in records):
        raise UserError(f"fairseq-train logged validations without {key} (extra flags after -- that change "
                        "the criterion's reporting?)")
    best = records[0]
    for r in records[1:]:
        if (r[key] >= best[key]) if maximize else (r[key] <= best[key]):
            best = r
    return best


def train(t: Training, summarise: Callable[[List[Record]], Dict], on_change: str = "stop") -> Dict:
    """Run ``t`` unless its folder already holds it; returns its result (``result.json``)."""
    try:
        os.makedirs(t.run_dir, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out-dir: cannot create {t.run_dir}: {e.strerror}") from None
    if "WORLD_SIZE" in os.environ or "RANK" in os.environ:
        raise UserError("WORLD_SIZE/RANK are set (torchrun?): each rank would run this wrapper; print the "
                        "fairseq-train command with --dry-run and launch that instead (docs/tooling.md)")
    wanted = fingerprint(t.args, t.data)
    with files.FolderLock(t.run_dir):
        done = finished(t.run_dir, wanted, on_change)
        if done is not None:
            print(f"{t.prefix} done already ({t.run_dir})", flush=True)
            return done
        for flag, path in t.needs:
            if not os.path.isfile(path):
                raise UserError(f"{flag} {path}: no such file")
        files.write_json(os.path.join(t.run_dir, "settings.json"), wanted)
        print(f"{t.prefix} {t.updates} updates -> {t.run_dir}", flush=True)
        log = os.path.join(t.run_dir, "train.log")
        earlier = []
        if os.path.isfile(log):
            with open(log, encoding="utf-8", errors="replace") as f:
                earlier = attempt_seconds(f.read())
        # the earlier attempts' work counts towards this result only if this attempt carries it on
        resuming = os.path.isfile(os.path.join(t.run_dir, "checkpoint_last.pt"))
        seconds = run_tool("fairseq-train", t.args, log,
                           Progress(t.prefix + "  ", t.updates, t.metric, t.maximize))
        records = validations(t.run_dir)
        if not records:
            raise UserError(f"fairseq-train logged no validation (see {t.run_dir}/train.log)")
        result = {**t.settings, **summarise(records),
                  "walltime_s": round((sum(earlier) if resuming else 0.0) + seconds, 1),
                  "walltime_all_attempts_s": round(sum(earlier) + seconds, 1), "attempts": len(earlier) + 1,
                  "checkpoint_best": _kept_checkpoint(t.run_dir), "fingerprint": wanted,
                  "command": shlex.join(["fairseq-train", *t.args]), **provenance(), "complete": True}
        files.write_json(os.path.join(t.run_dir, "result.json"), result)
        return result


def _kept_checkpoint(run_dir: str) -> Optional[str]:
    """Keep checkpoint_best.pt, drop what only a resume needed."""
    _remove_checkpoints(run_dir, keep=("checkpoint_best.pt",))
    best = os.path.join(run_dir, "checkpoint_best.pt")
    return best if os.path.isfile(best) else None


def provenance() -> Dict[str, object]:
    """Versions of python, torch, fairseq and r3f_fairseq, and the git commit of this checkout."""
    import platform
    from importlib import metadata

    import r3f_fairseq

    def version(*dists):
        for dist in dists:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return None

    commit = None
    try:
        here = os.path.dirname(r3f_fairseq.USER_DIR)
        proc = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if proc.returncode == 0:
            dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=10).stdout.strip()
            commit = proc.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {"versions": {"python": platform.python_version(), "torch": version("torch"),
                         "fairseq": version("fairseq", "ve-fairseq", "fairseq-fixed"),
                         "r3f_fairseq": r3f_fairseq.__version__},
            "git_commit": commit}

