"""Getting a perturbation of the token embeddings into a fairseq model.

Upstream's R3F passes ``token_embeddings=...`` to ``model(...)``. In fairseq
0.12 ``RobertaModel.forward`` accepts that keyword but drops it (it lands in
``**unused`` of ``RobertaEncoder.forward``), so the "noised" pass sees clean
embeddings; models whose forward lacks the keyword (e.g. ``transformer``)
crash instead. Here the perturbation is applied by a forward hook on the
encoder's own token-embedding module, which every fairseq encoder calls on
``src_tokens`` whatever its forward signature. The hook only fires on the
call that embeds *this batch's* ``src_tokens`` (the same tensor object), so a
decoder sharing the embedding matrix (BART) is left untouched; and if it never
fires, the block raises instead of silently training without noise.

The same mechanism carries SMART's and FreeLB's adversarial perturbations.
"""

from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List

import torch
from torch import Tensor, nn


class ModelCannotTakeEmbeddingNoise(TypeError):
    pass


def encoder_token_embedding(model: nn.Module) -> nn.Module:
    """The module that turns ``src_tokens`` into token embeddings.

    RoBERTa/XLM-R: ``model.encoder.sentence_encoder.embed_tokens``;
    BART/transformer: ``model.encoder.embed_tokens``.
    """
    encoder = getattr(model, "encoder", None)
    for owner in (getattr(encoder, "sentence_encoder", None), encoder):
        embed = getattr(owner, "embed_tokens", None)
        if isinstance(embed, nn.Module):
            return embed
    raise ModelCannotTakeEmbeddingNoise(
        f"{type(model).__name__} has no encoder token embedding "
        "(model.encoder.embed_tokens or model.encoder.sentence_encoder.embed_tokens), "
        "so R3F/SMART/FreeLB cannot perturb its inputs; use a fairseq encoder or "
        "encoder-decoder model (roberta, xlmr, bart, transformer)"
    )


@contextmanager
def perturbed_token_embeddings(
    model: nn.Module, src_tokens: Tensor, perturb: Callable[[Tensor], Tensor]
) -> Iterator[None]:
    """Inside the block, the encoder embeds ``src_tokens`` as ``perturb(embeddings)``.

    ``embeddings`` are the raw token embeddings, before fairseq's
    ``embed_scale``, positions and layer norm: the same point where upstream
    injected ``token_embeddings``. Gradients flow through ``perturb``.
    """
    module = encoder_token_embedding(model)
    fired: List[int] = []

    def hook(_module, inputs, output):
        if inputs and inputs[0] is src_tokens:
            fired.append(1)
            return perturb(output)
        return None

    handle = module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()
    if not fired:
        raise ModelCannotTakeEmbeddingNoise(
            f"{type(model).__name__}: the encoder's token embedding was never called on "
            "this batch's src_tokens, so the perturbation could not reach the model"
        )


def doubled(net_input: Dict) -> Dict:
    """``net_input`` with every batch-first tensor stacked on itself: rows
    ``[:B]`` and ``[B:]`` are two copies of the batch, for running a clean and a
    perturbed pass as one forward of 2B sentences."""
    size = net_input["src_tokens"].size(0)
    return {k: torch.cat([v, v]) if torch.is_tensor(v) and v.dim() > 0 and v.size(0) == size else v
            for k, v in net_input.items()}


def on_second_half(perturb: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """``perturb`` applied to rows ``[B:]`` of a doubled batch's embeddings only."""

    def apply(embeddings: Tensor) -> Tensor:
        clean, copy = embeddings.chunk(2)
        return torch.cat([clean, perturb(copy)])

    return apply


class _Recorded:
    output = None


@contextmanager
def recorded_output(module: nn.Module) -> Iterator[_Recorded]:
    """Keep the (last) output of ``module`` produced inside the block.

    Lets an R3F criterion run fairseq's stock criterion unchanged and still
    see the clean outputs it computed, so the two losses cannot drift apart.
    """
    record = _Recorded()

    def hook(_module, _inputs, output):
        record.output = output

    handle = module.register_forward_hook(hook)
    try:
        yield record
    finally:
        handle.remove()


def unwrapped(model: nn.Module) -> nn.Module:
    """The model inside fairseq's data-parallel wrappers (DistributedDataParallel,
    ModuleProxyWrapper), for passes that must not go through gradient sync."""
    while isinstance(getattr(model, "module", None), nn.Module):
        model = model.module
    return model
