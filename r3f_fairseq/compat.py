"""Fixes that make fairseq 0.12 checkpoints load on current PyTorch.

Applied once, when r3f_fairseq is imported (``--user-dir r3f_fairseq`` does
that in every fairseq CLI, in every distributed worker).

1. ``torch.load`` defaults to ``weights_only=True`` since torch 2.6, and
   fairseq's checkpoints hold more than tensors: ``argparse.Namespace``,
   omegaconf containers and their metadata, numpy scalars. In distributed
   runs rank 0 loads the checkpoint, turns ``cfg`` into a DictConfig and
   re-pickles the whole state for the other ranks, so the omegaconf node
   types must load too. We add exactly these types to torch's allow-list
   (``torch.serialization.add_safe_globals``); arbitrary code in a
   checkpoint is still refused.

2. Classification heads restore across spectral norm in every direction
   (plain, R4F ``all``, R4F ``out_proj``, fairseq's
   ``--spectral-norm-classification-head``, or both). A spectrally normalised
   layer stores ``weight_orig``/``weight_u``/``weight_v`` instead of
   ``weight``. Without this fix, ``RobertaModel``/``BARTModel``'s
   ``upgrade_state_dict_named`` reads ``<head>.out_proj.weight`` to size the
   head (``KeyError`` for an SN checkpoint), and a plain checkpoint restored
   into an SN head is silently replaced by the fresh ``weight_orig`` (the
   upgrade copies the model's own values for keys the checkpoint lacks).
   Each layer of the checkpoint is converted to the layout of the model's
   layer: plain -> SN: ``weight_orig`` = the trained weight, ``weight_u`` /
   ``weight_v`` its exact top singular vectors; SN -> plain: ``weight`` = the
   effective weight ``weight_orig / sigma`` (the same function). Each
   conversion is logged at WARNING naming the layer.

3. Under ``torchrun`` fairseq computes ``device_id = rank % cuda.device_count()``,
   a ZeroDivisionError on machines without a GPU, so CPU data-parallel runs
   (``--cpu --distributed-backend gloo``) could not start. On such machines
   we set device 0 (unused with ``--cpu``) instead; with GPUs fairseq's
   own code runs unchanged.

4. With ``--ddp-backend c10d`` (PyTorch's DistributedDataParallel) fairseq
   passes ``device_ids=[device_id]`` even for a CPU model, which PyTorch
   rejects. For CPU models we pass none, as PyTorch requires; GPU models are
   wrapped exactly as before.

5. fairseq saves a checkpoint atomically under its first name (e.g.
   ``checkpoint_1_60.pt``: a ``.tmp`` file, then a rename) but then copies
   it *in place* to the other names (``checkpoint_best.pt``,
   ``checkpoint_last.pt``). A run killed during that copy (a pre-empted job,
   a session's end) leaves a torn ``checkpoint_last.pt`` that the next
   ``fairseq-train`` cannot load ("failed finding central directory"). In
   ``checkpoint_utils`` we copy to ``<name>.tmp`` and rename it over the
   target, as fairseq's own first save does; the target is either the old
   checkpoint or the new one, never part of one.
"""

import argparse
import collections
import functools
import logging
import os
import shutil
import typing

import torch

from r3f_fairseq.regularizers import spectral_norm_to_plain_weight, top_singular_vectors

logger = logging.getLogger(__name__)

_SN_SUFFIXES = ("weight_orig", "weight_u", "weight_v")


def checkpoint_safe_globals():
    import numpy as np
    import omegaconf
    from omegaconf import base, nodes

    types = [
        argparse.Namespace,
        collections.defaultdict,
        collections.OrderedDict,
        dict,
        list,
        int,
        float,
        str,
        bool,
        typing.Any,
        omegaconf.DictConfig,
        omegaconf.ListConfig,
        base.ContainerMetadata,
        base.Metadata,
        nodes.AnyNode,
        nodes.StringNode,
        nodes.IntegerNode,
        nodes.FloatNode,
        nodes.BooleanNode,
        nodes.EnumNode,
        np.dtype,
        np.ndarray,
    ]
    # numpy scalars (e.g. best validation metric) pickle as core.multiarray.scalar
    for core in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(core, fromlist=["scalar"])
            types.append(module.scalar)
            types.append(module._reconstruct)
            break
        except (ImportError, AttributeError):
            continue
    # broadcast_object: rank 0 sends tensors as placeholders (distributed restore)
    from fairseq.distributed.utils import _TensorPlaceholder

    types.append(_TensorPlaceholder)
    types += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32", "bool")]
    return types


def allow_fairseq_checkpoints_in_torch_load() -> None:
    add = getattr(torch.serialization, "add_safe_globals", None)
    if add is not None:  # torch < 2.4 has no weights_only default to fix
        add(checkpoint_safe_globals())


def _upgrade_spectral_norm_heads(upgrade):
    @functools.wraps(upgrade)
    def upgrade_state_dict_named(self, state_dict, name):
        prefix = (name + "." if name else "") + "classification_heads."
        stored = {}  # layer prefix -> "plain" or "sn", as the checkpoint stores it
        for key in list(state_dict):
            if key.startswith(prefix) and key.endswith((".weight", ".weight_orig")):
                layer, kind = key.rsplit(".", 1)
                stored[layer + "."] = "sn" if kind == "weight_orig" else "plain"
        for layer, kind in stored.items():  # the stock upgrade reads <layer>.weight to size a head
            if kind == "sn":
                state_dict[layer + "weight"] = spectral_norm_to_plain_weight(state_dict, layer)
        upgrade(self, state_dict, name)
        for layer, kind in stored.items():
            if layer + "weight" not in state_dict:  # the stock upgrade dropped this head
                continue
            module = _find_module(self, layer[len(name) + 1 if name else 0 : -1])
            wanted = "sn" if module is not None and hasattr(module, "weight_orig") else "plain"
            if kind == "sn" and wanted == "sn":
                del state_dict[layer + "weight"]
            elif kind == "sn":
                for suffix in _SN_SUFFIXES:
                    state_dict.pop(layer + suffix, None)
                logger.warning("restoring %sweight: spectrally normalised in the checkpoint, plain in "
                               "the model; it gets the effective weight weight_orig / sigma", layer)
            elif wanted == "sn":
                weight = state_dict.pop(layer + "weight")
                u, v = top_singular_vectors(weight)
                state_dict[layer + "weight_orig"] = weight
                state_dict[layer + "weight_u"] = u.to(weight.dtype)
                state_dict[layer + "weight_v"] = v.to(weight.dtype)
                logger.warning("restoring %sweight: plain in the checkpoint, spectrally normalised in "
                               "the model; the trained weight becomes weight_orig", layer)

    upgrade_state_dict_named._r3f_patched = True
    return upgrade_state_dict_named


def _find_module(model, path):
    try:
        return model.get_submodule(path)
    except AttributeError:
        return None


def fix_spectral_norm_head_loading() -> None:
    from fairseq.models.bart import BARTModel
    from fairseq.models.roberta import RobertaModel

    for cls in (RobertaModel, BARTModel):
        method = cls.upgrade_state_dict_named
        if not getattr(method, "_r3f_patched", False):
            cls.upgrade_state_dict_named = _upgrade_spectral_norm_heads(method)


def fix_torchrun_init_without_gpus() -> None:
    from fairseq.distributed import utils as distributed_utils

    original = distributed_utils._infer_torch_distributed_launch_init
    if getattr(original, "_r3f_patched", False):
        return

    @functools.wraps(original)
    def infer_torch_distributed_launch_init(cfg):
        if torch.cuda.device_count() > 0:
            return original(cfg)
        cfg.distributed_init_method = "env://"
        cfg.distributed_world_size = int(os.environ["WORLD_SIZE"])
        cfg.distributed_rank = int(os.environ["RANK"])
        cfg.device_id = 0  # no CUDA device to pick
        cfg.distributed_no_spawn = True

    infer_torch_distributed_launch_init._r3f_patched = True
    distributed_utils._infer_torch_distributed_launch_init = infer_torch_distributed_launch_init


def fix_pytorch_ddp_on_cpu() -> None:
    from fairseq.models import distributed_fairseq_model

    ddp = distributed_fairseq_model.DistributedDataParallel
    if getattr(ddp, "_r3f_patched", False):
        return

    class DistributedDataParallel(ddp):
        _r3f_patched = True

        def __init__(self, module, device_ids=None, output_device=None, **kwargs):
            if all(p.device.type == "cpu" for p in module.parameters()):
                device_ids = output_device = None
            super().__init__(module, device_ids=device_ids, output_device=output_device, **kwargs)

    distributed_fairseq_model.DistributedDataParallel = DistributedDataParallel


def copy_checkpoints_atomically() -> None:
    from fairseq import checkpoint_utils

    path_manager = checkpoint_utils.PathManager
    if getattr(path_manager, "_r3f_patched", False):
        return

    class PathManager(path_manager):
        _r3f_patched = True

        @staticmethod
        def copy(src_path: str, dst_path: str, overwrite: bool = False) -> bool:
            if not overwrite or not path_manager.supports_rename(dst_path):  # remote storage: fairseq as is
                return path_manager.copy(src_path, dst_path, overwrite=overwrite)
            partial = dst_path + ".tmp"
            try:
                shutil.copyfile(src_path, partial)
                os.replace(partial, dst_path)
            finally:
                if os.path.exists(partial):
                    os.remove(partial)
            return True

    checkpoint_utils.PathManager = PathManager


def apply() -> None:
    allow_fairseq_checkpoints_in_torch_load()
    fix_spectral_norm_head_loading()
    fix_torchrun_init_without_gpus()
    fix_pytorch_ddp_on_cpu()
    copy_checkpoints_atomically()
