"""Block sizes LyCORIS would silently change or cannot build: an error naming method.block_size instead.

OFT splits each targeted layer's output width into blocks; LyCORIS's
factorization() picks the nearest factorization to the requested size and
returns the smaller factor, so a block size that does not divide a width (or
is larger than width/block_size) quietly becomes another. BOFT needs an even
block size b <= block_size with width/b a power of two, and fails mid-build
without naming the field.
"""

from __future__ import annotations

from lycoris.functional.general import factorization, power2factorization

from trainer.config import ConfigError, Frozen


def check_oft(config: Frozen, widths: set[int]) -> None:
    size = config.block_size
    for width in sorted(widths):
        used = factorization(width, size)[0]
        if used != size:
            raise ConfigError(
                f"method.block_size: {size} cannot split layer width {width} into equal blocks of {size} "
                f"(LyCORIS would use blocks of {used}); choose a divisor of every targeted width ({', '.join(map(str, sorted(widths)))}) "
                "no larger than width/block_size"
            )


def check_boft(config: Frozen, widths: set[int]) -> None:
    size = config.block_size
    for width in sorted(widths):
        if power2factorization(width, size)[1] == 0:
            raise ConfigError(
                f"method.block_size: {size} cannot factor layer width {width} for BOFT, which needs an even block size b <= {size} "
                f"with {width}/b a power of two; raise block_size"
            )


def check_dylora(config: Frozen, widths: set[int]) -> None:
    if config.rank % config.block_size:
        raise ConfigError(f"method.block_size: {config.block_size} does not divide method.rank {config.rank}; DyLoRA trains the rank in blocks of this size")
