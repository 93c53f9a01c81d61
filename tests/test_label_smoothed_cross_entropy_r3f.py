"""label_smoothed_cross_entropy_r3f on a tiny BART built by fairseq from the real CNN/DM sample."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests import helpers
from tests.helpers import NO_DROPOUT, batch, same_loss_and_gradients

R3F = ["--criterion", "label_smoothed_cross_entropy_r3f", "--label-smoothing", "0.1"]


def stock_criterion(task, cfg):
    from fairseq.criterions.label_smoothed_cross_entropy import LabelSmoothedCrossEntropyCriterion

    c = cfg.criterion
    return LabelSmoothedCrossEntropyCriterion(task, c.sentence_avg, c.label_smoothing, c.ignore_prefix_size)


def hand_penalty(model, sample, seed, pad, eps=0.1):
    """sum over non-pad target tokens of KL(p||q) + KL(q||p), written out with F.kl_div."""
    from r3f_fairseq.embedding_perturbation import perturbed_token_embeddings

    clean = model(**sample["net_input"])[0]
    torch.manual_seed(seed)
    noise = lambda e: e + torch.randn_like(e) * eps  # noqa: E731  (--noise-type normal)
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


@pytest.mark.parametrize("average", ["sentence", "token"])
@pytest.mark.parametrize("sentence_avg", [False, True])
def test_penalty_is_the_symmetric_kl_over_non_pad_target_tokens(tiny_bart, average, sentence_avg):
    """sentence (default, upstream's weighting): after fairseq divides by sample_size,
    lambda * (KL summed over non-pad target tokens) / B, whatever --sentence-avg says;
    token: lambda * that sum / sample_size, like the NLL."""
    flags = [*R3F, "--eps", "1.0", "--r3f-lambda", "1e4", "--r3f-kl-average", average, *NO_DROPOUT]
    cfg, task, model, crit = tiny_bart(*flags, *(["--sentence-avg"] if sentence_avg else []))
    sample = batch(task, n=4)
    assert sample["target"].eq(task.target_dictionary.pad()).any(), "batch should contain padding"
    model.train()
    torch.manual_seed(7)
    loss, sample_size, log = crit(model, sample)
    kl_sum = hand_penalty(model, sample, seed=7, pad=task.target_dictionary.pad(), eps=1.0)
    per_unit = kl_sum / 4 if average == "sentence" else kl_sum / sample_size  # what the gradient sees
    assert float(log["symm_kl"]) / sample_size == pytest.approx(per_unit, rel=1e-4)
    stock, _, _ = stock_criterion(task, cfg)(model, sample)
    assert loss.item() == pytest.approx(stock.item() + 1e4 * float(log["symm_kl"]), rel=1e-6)
    assert 1e4 * float(log["symm_kl"]) > 1e-5 * stock.item()  # large enough for the sum above to see it


def load_upstream_criterion():
    return helpers.upstream_rxf_criterion("label_smoothed_cross_entropy_r3f", "LabelSmoothedCrossEntropyR3FCriterion")


@pytest.mark.parametrize("sentence_avg", [False, True])
def test_default_loss_and_gradients_equal_upstreams(tiny_bart, sentence_avg):
    """Upstream's seq2seq criterion (run from fairseq's own examples/rxf file; BART
    passes its token_embeddings to the encoder) and ours with default flags: the
    same loss and the same symm_kl. The batch repeats one pair, so it has no padding (upstream
    sums its KL over padding too; ours masks it, see the padding test).

    A randomly initialised tiny BART predicts almost uniformly over 50k tokens, so its
    KL is ~1e-6 and upstream's float32 formula (sum of p log p - p log q) is then mostly
    rounding; larger output embeddings make its predictions peaked enough to compare."""
    from tests.helpers import grads

    lam = 1e5
    torch.manual_seed(0)  # the same initial weights whatever ran before
    cfg, task, model, crit = tiny_bart(*R3F, "--eps", "1.0", "--r3f-lambda", str(lam), *NO_DROPOUT,
                                       *(["--sentence-avg"] if sentence_avg else []))
    upstream = load_upstream_criterion()(task, sentence_avg, 0.1, 1.0, lam, "normal")
    with torch.no_grad():
        model.decoder.embed_tokens.weight.mul_(50)
    task.load_dataset("valid")
    dataset = task.dataset("valid")
    sample = dataset.collater([dataset[0]] * 3)
    assert not sample["target"].eq(task.target_dictionary.pad()).any()
    model.train()
    results = []
    for criterion in (crit, upstream):
        model.zero_grad()
        torch.manual_seed(11)
        loss, sample_size, log = criterion(model, sample)
        loss.backward()
        results.append((loss.item(), float(log["symm_kl"]), grads(model)))
    (loss, kl, g), (up_loss, up_kl, up_g) = results
    assert lam * kl > 1e-3 * loss  # the penalty is a visible part of the loss
    assert kl == pytest.approx(up_kl, rel=3e-2)  # upstream's float32 sum over B x T x 50k terms rounds ~1 %
    assert loss - lam * kl == pytest.approx(up_loss - lam * up_kl, rel=1e-6)  # the same NLL beside it


def test_embedding_grad_default_both_as_upstream_and_clean_detaches(tiny_bart):
    """Upstream's seq2seq R3F lets the noised pass train the (shared) embedding
    matrix: our default. --r3f-embedding-grad clean changes only that gradient."""
    from tests.helpers import grads

    runs = {}
    for mode in ("default", "clean"):
        cfg, task, model, crit = tiny_bart(*R3F, "--eps", "1.0", "--r3f-lambda", "1e4", *NO_DROPOUT,
                                           *(["--r3f-embedding-grad", mode] if mode != "default" else []))
        if runs:
            model.load_state_dict(runs["default"][2])
        assert crit.r3f.detach_embeddings == (mode == "clean")
        model.train()
        model.zero_grad()
        torch.manual_seed(4)
        loss, _, _ = crit(model, batch(task, n=2))
        loss.backward()
        runs[mode] = (loss.item(), grads(model), model.state_dict())
    (loss, g, _), (loss_clean, g_clean, _) = runs["default"], runs["clean"]
    assert loss_clean == pytest.approx(loss, rel=1e-6)
    embed = "encoder.embed_tokens.weight"
    assert not torch.allclose(g[embed], g_clean[embed], rtol=1e-4, atol=0)
    for name in g:
        if name != embed:
            torch.testing.assert_close(g[name], g_clean[name], msg=name)


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
def test_logged_penalty_is_per_sample_size_unit(tiny_bart, sentence_avg):
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
    perturb, perturbed = crit.r3f.perturb, []
    crit.r3f.perturb = lambda e: perturbed.append(e.shape) or perturb(e)
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
