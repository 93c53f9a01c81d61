"""Hugging Face BERT -> fairseq RoBERTa, proved on the real all-MiniLM-L6-v2 weights."""

import json
import math
import os
import shutil

import pytest
import torch
import torch.nn.functional as F

from r3f_fairseq.conversion import hf_bert
from r3f_fairseq.data import glue
from r3f_fairseq.data.wordpiece import WordPieceTokenizer


@pytest.fixture(scope="session")
def minilm_dir():
    return hf_bert.installed_minilm_dir()


@pytest.fixture(scope="session")
def converted(minilm_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("minilm")
    hf_bert.convert(minilm_dir, str(out), pooler_head=2)
    return out


def real_sentences(shared_data, n=12):
    task = glue.get_task("RTE")
    examples = list(glue.read_examples(task, str(shared_data / "glue" / "RTE" / "dev.tsv")))[:n // 2]
    sst = list(glue.read_examples(glue.get_task("SST-2"), str(shared_data / "glue" / "SST-2" / "dev.tsv")))[:n // 2]
    return [e.input0 for e in examples] + [e.input0 for e in sst]


def reference_bert(weights, config, ids, mask):
    """BERT's encoder written out in plain PyTorch (independent of fairseq)."""
    w = {k[5:] if k.startswith("bert.") else k: v for k, v in weights.items()}
    eps, heads = config["layer_norm_eps"], config["num_attention_heads"]
    positions = torch.arange(ids.size(1))
    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
         + w["embeddings.token_type_embeddings.weight"][0])
    ln = lambda x, name: F.layer_norm(x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], eps)  # noqa: E731
    lin = lambda x, name: F.linear(x, w[name + ".weight"], w[name + ".bias"])  # noqa: E731
    x = ln(x, "embeddings.LayerNorm")
    bias = (1.0 - mask[:, None, None, :].float()) * -1e9
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        B, T, C = x.shape
        split = lambda t: t.view(B, T, heads, C // heads).transpose(1, 2)  # noqa: E731
        q, k, v = (split(lin(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
        attn = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(C // heads) + bias, dim=-1)
        context = (attn @ v).transpose(1, 2).reshape(B, T, C)
        x = ln(x + lin(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        h = F.gelu(lin(x, p + "intermediate.dense"))
        x = ln(x + lin(h, p + "output.dense"), p + "output.LayerNorm")
    return x


def test_converted_model_matches_a_reference_bert_forward(minilm_dir, converted, shared_data):
    from fairseq import checkpoint_utils

    config, weights = hf_bert.read_hf_dir(minilm_dir)
    models, _, task = checkpoint_utils.load_model_ensemble_and_task([str(converted / "model.pt")])
    model = models[0].eval()
    dictionary = task.source_dictionary
    tokenizer = WordPieceTokenizer(str(converted / "vocab.txt"))
    vocab = tokenizer.vocab
    sentences = real_sentences(shared_data)
    pieces = [tokenizer.tokenize(s)[:100] for s in sentences]
    T = max(len(p) for p in pieces) + 2
    fs_tokens = torch.full((len(pieces), T), dictionary.pad())
    hf_ids = torch.zeros((len(pieces), T), dtype=torch.long)
    mask = torch.zeros((len(pieces), T), dtype=torch.bool)
    for i, p in enumerate(pieces):
        fs = [dictionary.bos()] + [dictionary.index(t) for t in p] + [dictionary.eos()]
        hf = [vocab["[CLS]"]] + [vocab[t] for t in p] + [vocab["[SEP]"]]
        fs_tokens[i, : len(fs)] = torch.tensor(fs)
        hf_ids[i, : len(hf)] = torch.tensor(hf)
        mask[i, : len(hf)] = True
    assert (fs_tokens[mask] != dictionary.unk()).float().mean() > 0.99  # the vocabulary mapped through
    with torch.no_grad():
        ours, _ = model(fs_tokens, features_only=True)
        reference = reference_bert(weights, config, hf_ids, mask)
    diff = (ours - reference)[mask].abs().max().item()
    assert diff < 1e-4, diff
    # and the pooler became the classification head's dense layer
    state = torch.load(converted / "model.pt", map_location="cpu")["model"]
    assert torch.equal(state["classification_heads.sentence_classification_head.dense.weight"],
                       weights["pooler.dense.weight"])


def test_dictionary_maps_special_tokens_and_keeps_vocabulary_order(converted):
    entries = [line.split()[0] for line in open(converted / "dict.txt", encoding="utf-8")]
    vocab = [line.rstrip("\n") for line in open(converted / "vocab.txt", encoding="utf-8")]
    assert len(entries) == len(vocab) - 5
    assert not {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"} & set(entries)
    assert entries == [t for t in vocab if t not in {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"}]
    assert (converted / "fairseq_args.txt").read_text().split() == [
        "--arch", "roberta_bert", "--layer-norm-eps", "1e-12", "--encoder-layers", "6", "--encoder-embed-dim", "384",
        "--encoder-ffn-embed-dim", "1536", "--encoder-attention-heads", "12", "--max-positions", "512"]


def test_wordpiece_tokenizer_matches_the_reference_implementation(minilm_dir, shared_data):
    from tokenizers import BertWordPieceTokenizer

    ours = WordPieceTokenizer(os.path.join(minilm_dir, "vocab.txt"))
    reference = BertWordPieceTokenizer(os.path.join(minilm_dir, "vocab.txt"), lowercase=True)
    lines = []
    for name in ("SST-2", "MRPC", "CoLA"):
        task = glue.get_task(name)
        for e in glue.read_examples(task, str(shared_data / "glue" / name / "dev.tsv")):
            lines += [e.input0] + ([e.input1] if e.input1 else [])
    for lang in ("ar", "de", "hi", "ru", "th", "zh"):
        with open(shared_data / "xnli" / f"dev-{lang}.tsv", encoding="utf-8") as f:
            lines += [line.split("\t")[0] for _, line in zip(range(200), f)]
    mismatches = [l for l in lines if ours.tokenize(l) != reference.encode(l, add_special_tokens=False).tokens]
    assert len(lines) > 3000 and mismatches == []


def test_bad_checkpoint_directories_are_clear_errors(minilm_dir, tmp_path):
    with pytest.raises(hf_bert.ConversionError, match="no config.json"):
        hf_bert.convert(str(tmp_path), str(tmp_path / "out"))
    bad = tmp_path / "bad"
    bad.mkdir()
    config = json.loads(open(os.path.join(minilm_dir, "config.json")).read())
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(hf_bert.ConversionError, match="neither model.safetensors nor pytorch_model.bin"):
        hf_bert.convert(str(bad), str(tmp_path / "out"))
    shutil.copyfile(os.path.join(minilm_dir, "model.safetensors"), bad / "model.safetensors")
    (bad / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    with pytest.raises(hf_bert.ConversionError, match="vocab.txt has 3 tokens, config.json says 30522"):
        hf_bert.convert(str(bad), str(tmp_path / "out"))
