# The packages the GPU scripts add beside a machine's own CUDA torch (python.sh's need_packages), and the wheels
# wheels.sh downloads for a machine without a registry; pinned as trainer/requirements.txt pins them.
TRAINER_DEPS="diffusers==0.42.1 transformers==5.23.0 tokenizers==0.23.3 safetensors==0.8.0 pillow numpy"
BENCH_DEPS="jsonschema==4.26.0 einops toml tqdm packaging"
# These depend on torch: installed with --no-deps, or pip would fetch a second torch over the machine's CUDA one.
BENCH_TORCH_DEPS="lycoris-lora==4.1.3 bitsandbytes==0.50.2"
