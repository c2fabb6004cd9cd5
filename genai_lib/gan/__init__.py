"""Generative adversarial networks (Goodfellow et al., 2014): a generator G maps noise z to
data, a discriminator D tells real from generated, and each learns against the other.

Shapes: z (B, L) noise, x (B, D) data (flatten images), y (B,) integer labels for the
conditional GAN of Mirza & Osindero (2014). D returns logits (B,), never probabilities:
the losses use log-sigmoid forms, which stay finite where sigmoid saturates.

Training is two step functions, `discriminator_step` and `generator_step`, joined by
`gan_step` and plugged into the one loop, `genai_lib.train.fit`.

The package has two parts: `gan.networks` (the networks and sampling) and `gan.training`
(losses, step functions, snapshots); everything is importable from `gan` itself, as
`gan.Generator`, `gan.gan_step`, ...
"""

from genai_lib.gan.networks import GAN, Discriminator, Generator, generate, noise, sample
from genai_lib.gan.training import (LOSSES, Snapshots, discriminator_loss, discriminator_step,
                                    gan_step, generator_loss, generator_step, gradient_penalty)

__all__ = ["GAN", "LOSSES", "Discriminator", "Generator", "Snapshots", "discriminator_loss",
           "discriminator_step", "gan_step", "generate", "generator_loss", "generator_step",
           "gradient_penalty", "noise", "sample"]
