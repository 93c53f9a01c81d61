"""label_smoothed_cross_entropy_r3f on a tiny BART built by fairseq from the real CNN/DM sample."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.helpers import NO_DROPOUT, batch, same_loss_and_gradients

R3F = ["--criterion", "label_smoothed_cross_entropy_r3f", "--label-smoothing", "0.1"]


def stock_criterion(task, cfg):
    from fairseq.criterions.label_smoothed_cross_entropy import LabelSmoothedCrossEntropyCriterion

    c = cfg.criterion
    return LabelSmoothedCrossEntropyCriterion(task, c.sentence_avg, c.label_smoothing, c.ignore_prefix_size)


def hand_penalty(model, sample, seed, pad):
    """sum over non-pad target tokens of KL(p||q) + KL(q||p), written out with F.kl_div."""
    from r3f_fairseq.embedding_perturbation import perturbed_token_embeddings

    clean = model(**sample["net_input"])[0]
    torch.manual_seed(seed)
    noise = lambda e: e + torch.randn_like(e) * 0.1  # noqa: E731  (--noise-type normal --eps 0.1)
    with perturbed_token_embeddings(model, sample["net_input"]["src_tokens"], noise):
        noised = model(**sample["net_input"])[0]
    log_p, log_q = F.log_softmax(clean.double(), -1), F.log_softmax(noised.double(), -1)
    kl_pq = F.kl_div(log_q, log_p, log_target=True, reduction="none").sum(-1)
    kl_qp = F.kl_div(log_p, log_q, log_target=True, reduction="none").sum(-1)
    keep = sample["target"].ne(pad)
    return float(((kl_pq + kl_qp) * keep).sum().detach())


def test_lambda_zero_gives_stock_loss_and_gradients_exactly(tiny_bart):
    cfg, task, model, crit = tiny_bart(*R3F, "--r3f-lambda", "0")
    sample = batch(task, n=4)
    model.train()
    same_loss_and_gradients(model, crit, stock_criterion(task, cfg), sample)


def test_eval_mode_draws_no_noise_and_equals_stock(tiny_bart):
    cfg, task, model, crit = tiny_bart(*R3F, "--eps", "0.5")
    sample = batch(task, n=4)
    model.eval()
    state = torch.get_rng_state()
    with torch.no_grad():
        loss, _, log = crit(model, sample)
        stock, _, _ = stock_criterion(task, cfg)(model, sample)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(loss, stock) and "symm_kl" not in log


def test_penalty_is_the_symmetric_kl_summed_over_non_pad_target_tokens(tiny_bart):
    cfg, task, model, crit = tiny_bart(*R3F, "--eps", "0.1", "--r3f-lambda", "0.5", *NO_DROPOUT)
    sample = batch(task, n=4)
    assert sample["target"].eq(task.target_dictionary.pad()).any(), "batch should contain padding"
    model.train()
    torch.manual_seed(7)
    loss, _, log = crit(model, sample)
    expected = hand_penalty(model, sample, seed=7, pad=task.target_dictionary.pad())
    assert float(log["symm_kl"]) == pytest.approx(expected, rel=1e-4)
    stock, _, _ = stock_criterion(task, cfg)(model, sample)
    assert loss.item() == pytest.approx(stock.item() + 0.5 * expected, rel=1e-5)


def test_extra_target_padding_leaves_the_penalty_unchanged(tiny_bart):
    """Masked: padding positions (which still get decoder outputs) add nothing."""
    cfg, task, model, crit = tiny_bart(*R3F, "--eps", "0.1", *NO_DROPOUT)
    sample = batch(task, n=4)
    pad = task.target_dictionary.pad()
    padded = {**sample, "net_input": dict(sample["net_input"])}
    extra = torch.full((sample["target"].size(0), 5), pad, dtype=sample["target"].dtype)
    padded["target"] = torch.cat([sample["target"], extra], dim=1)
    padded["net_input"]["prev_output_tokens"] = torch.cat([sample["net_input"]["prev_output_tokens"], extra], 1)
    model.train()
    torch.manual_seed(3)
    _, _, log = crit(model, sample)
    torch.manual_seed(3)
    _, _, log_padded = crit(model, padded)
    assert float(log["symm_kl"]) > 0
    assert float(log_padded["symm_kl"]) == pytest.approx(float(log["symm_kl"]), rel=1e-5)


@pytest.mark.parametrize("sentence_avg", [False, True])
def test_penalty_is_normalised_like_the_nll(tiny_bart, sentence_avg):
    from fairseq.logging import metrics

    flags = [*R3F, "--eps", "0.1", *NO_DROPOUT] + (["--sentence-avg"] if sentence_avg else [])
    cfg, task, model, crit = tiny_bart(*flags)
    sample = batch(task, n=4)
    model.train()
    _, sample_size, log = crit(model, sample)
    assert sample_size == (sample["nsentences"] if sentence_avg else sample["ntokens"])
    with metrics.aggregate() as agg:
        crit.reduce_metrics([log])
        logged = agg.get_smoothed_values()
    assert logged["symm_kl"] == pytest.approx(float(log["symm_kl"]) / sample_size, rel=1e-4)


def test_decoder_inputs_are_not_noised(tiny_bart):
    """BART shares one embedding module between encoder and decoder: only its
    call on src_tokens is perturbed, once per training forward."""
    from r3f_fairseq.embedding_perturbation import encoder_token_embedding

    cfg, task, model, crit = tiny_bart(*R3F, "--eps", "1.0", *NO_DROPOUT)
    sample = batch(task, n=4)
    assert encoder_token_embedding(model) is model.decoder.embed_tokens
    noise, perturbed = crit.r3f.noise, []
    crit.r3f.noise = lambda e: perturbed.append(e.shape) or noise(e)
    model.train()
    crit(model, sample)
    src = sample["net_input"]["src_tokens"]
    assert perturbed == [(*src.shape, 32)]
    assert src.shape[1] != sample["net_input"]["prev_output_tokens"].shape[1]


def test_noise_reaches_the_encoder_and_vanishes_with_eps(tiny_bart):
    def kl(eps):
        cfg, task, model, crit = tiny_bart(*R3F, "--eps", str(eps), *NO_DROPOUT)
        sample = batch(task, n=4)
        model.train()
        torch.manual_seed(0)
        return float(crit(model, sample)[2]["symm_kl"])

    big, small = kl(1.0), kl(1e-4)
    assert big > 0
    assert small < big * 1e-3


def test_works_with_a_plain_transformer(cnn_dm_bin):
    """Upstream passes token_embeddings= to forward, which TransformerModel lacks (TypeError)."""
    from tests import helpers

    flags = [
        "--task", "translation", "--source-lang", "source", "--target-lang", "target",
        "--truncate-source", "--max-source-positions", "256", "--max-target-positions", "256",
        "--arch", "transformer", "--encoder-layers", "1", "--decoder-layers", "1",
        "--encoder-embed-dim", "16", "--decoder-embed-dim", "16", "--encoder-ffn-embed-dim", "32",
        "--decoder-ffn-embed-dim", "32", "--encoder-attention-heads", "2", "--decoder-attention-heads", "2",
        "--share-all-embeddings", *R3F, "--eps", "0.1",
    ]
    cfg, task, model, crit = helpers.build(cnn_dm_bin, *flags)
    model.train()
    loss, _, log = crit(model, batch(task, n=2))
    loss.backward()
    assert float(log["symm_kl"]) > 0


def test_model_that_cannot_take_embedding_noise_fails_clearly(tiny_bart):
    from r3f_fairseq.embedding_perturbation import ModelCannotTakeEmbeddingNoise

    cfg, task, model, crit = tiny_bart(*R3F)

    class DecoderOnly(nn.Module):
        def forward(self, **kwargs):
            raise AssertionError("must fail before running the model")

    with pytest.raises(ModelCannotTakeEmbeddingNoise, match="no encoder token embedding"):
        crit(DecoderOnly(), batch(task, n=2))
