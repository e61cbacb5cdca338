"""Losses over a batch of embeddings: NT-Xent for SimCLR, the contrastive pair loss for a
Siamese network, and the batch-all triplet margin loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's normalised temperature-scaled cross entropy.

    ``z1[i]`` and ``z2[i]`` (B, P) are two views of image i: each view must pick its partner
    out of the 2B - 1 other views in the batch by cosine similarity / temperature.
    """
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2B, P)
    sim = z @ z.T / temperature  # (2B, 2B)
    sim.fill_diagonal_(float("-inf"))  # a view is not its own partner
    partner = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(sim, partner)


def contrastive_pairs(z: torch.Tensor, labels: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Hadsell et al.'s contrastive loss over every pair in the batch (a Siamese network seen
    B (B - 1) / 2 pairs at a time): same label -> squared distance, different labels ->
    squared shortfall from ``margin``. Latents are L2-normalised, so margin is in [0, 2]."""
    e = F.normalize(z, dim=1)
    d = torch.cdist(e, e)  # (B, B)
    same = labels.view(-1, 1) == labels.view(1, -1)
    upper = torch.triu(torch.ones_like(same), diagonal=1)
    pos = same & upper
    neg = ~same & upper
    loss_pos = d[pos].pow(2)
    loss_neg = F.relu(margin - d[neg]).pow(2)
    return torch.cat([loss_pos, loss_neg]).mean()


def triplet_batch_all(z: torch.Tensor, labels: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """Mean of the positive parts of ``d(a, p) - d(a, n) + margin`` over every valid triplet of
    the batch (anchor and positive share a label, negative does not), counting only the
    triplets still violating the margin. Batch-all rather than batch-hard: the hardest
    negatives of a small batch are often label noise or near-duplicates, and chasing them
    collapses digits to a point (kNN 0.175 measured with margin 0.2)."""
    e = F.normalize(z, dim=1)
    d = torch.cdist(e, e)  # (B, B)
    same = labels.view(-1, 1) == labels.view(1, -1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=z.device)
    pos = same & ~eye  # (A, P)
    neg = ~same  # (A, N)
    valid = pos.unsqueeze(2) & neg.unsqueeze(1)  # (A, P, N)
    violation = F.relu(d.unsqueeze(2) - d.unsqueeze(1) + margin)  # (A, P, N)
    active = valid & (violation > 1e-12)
    if not active.any():
        return violation.sum() * 0.0  # keeps the graph: a zero gradient, not an error
    return violation[active].mean()
