"""What a latent space is trained for, beyond reconstruction: the augmentations, corruptions
and losses of the contrastive (SimCLR), metric (Siamese, triplet) and denoising objectives.

Each piece is a plain function or a small transform object over tensors, so that an objective
is a backbone plus a head plus one of these losses (the shape lightly and
pytorch-metric-learning use), and objectives stay comparable on the same encoder.
"""
