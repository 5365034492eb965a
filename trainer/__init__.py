"""tunebook's training engine: fine-tunes adapters on a frozen Stable Diffusion XL. See trainer/README.md."""
