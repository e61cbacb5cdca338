# CPU image by default; for a GPU, build with
#   --build-arg BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
# (then install python3.11 there) and run with --gpus all: --device auto picks CUDA up.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LATENT_EXPLORER_WORKSPACE=/data/workspace

WORKDIR /app
# torch first, in its own layer, so code edits do not reinstall it. The CPU wheel index keeps
# the image small; drop --index-url for a CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch>=2.10" "torchvision>=0.25"
COPY pyproject.toml README.md ./
COPY app ./app
COPY models ./models
COPY static ./static
COPY templates ./templates
# Editable, as in the Makefile: the app finds static/ and templates/ beside its package.
RUN pip install -e .

# The workspace (trained models and index caches) lives on a volume so restarts stay warm.
VOLUME ["/data"]
EXPOSE 8000
# `run` trains the default digits model on first start (under a minute), then serves.
# Inside a container the server must listen on 0.0.0.0, so it warns that it is reachable;
# publish the port on 127.0.0.1 only (-p 127.0.0.1:8000:8000), or pass
# -e LATENT_EXPLORER_TOKEN=... and open the page once as /?token=... (docs/guide.md, Security).
CMD ["python", "-m", "app", "run", "--workspace", "/data/workspace", "--host", "0.0.0.0", "--port", "8000"]
