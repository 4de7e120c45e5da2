# ssl_mir on a CUDA PyTorch base (torch and torchaudio come from the image and satisfy setup.cfg's ranges).
# Build:  docker build -t ssl-mir .
# Run:    docker run --gpus all --ipc=host -v $PWD/runs:/home/ssl/runs -v /my/audio:/data ssl-mir \
#           pretrain -c configs/trainer/ddp.yaml ...
# --ipc=host (or --shm-size=8g): DataLoader workers pass batches through /dev/shm, and Docker's default 64 MB ends in
# "bus error" deaths of the workers.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

WORKDIR /opt/ssl_mir
# Dependencies first, in their own layer: a change to the source does not reinstall them. The package is a stub here.
COPY setup.cfg pyproject.toml README.md ./
# The versions are bounded in setup.cfg, which pip reads here:
# hadolint ignore=DL3013
RUN mkdir ssl_mir && touch ssl_mir/__init__.py \
 && pip install --no-cache-dir '.[onnx]' \
 && pip uninstall --yes ssl_mir \
 && rm -r ssl_mir
# tinysoundfont declares pyaudio, which is only for live playback: install it without dependencies (see Makefile).
RUN pip install --no-cache-dir --no-deps 'tinysoundfont>=0.3,<0.4'
COPY ssl_mir ./ssl_mir
COPY configs ./configs
# The versions are bounded in setup.cfg, which pip reads here:
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --no-deps . \
 && ssl-mir --version

RUN useradd --create-home --uid 1000 ssl
USER 1000
WORKDIR /home/ssl
RUN cp -r /opt/ssl_mir/configs ./configs
ENV WANDB_MODE=offline
ENTRYPOINT ["ssl-mir"]
