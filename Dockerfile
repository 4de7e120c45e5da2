# ssl_mir on a CUDA PyTorch base (torch and torchaudio come from the image and satisfy setup.cfg's ranges).
# Run:  docker run --gpus all -v $PWD/runs:/opt/ssl_mir/runs -v /my/audio:/data ssl-mir pretrain -c configs/trainer/ddp.yaml ...
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

WORKDIR /opt/ssl_mir
COPY setup.cfg pyproject.toml README.md ./
COPY ssl_mir ./ssl_mir
COPY configs ./configs
# tinysoundfont declares pyaudio, which is only for live playback: install it without dependencies (see Makefile).
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir --no-deps 'tinysoundfont>=0.3,<0.4'
ENV WANDB_MODE=offline
ENTRYPOINT ["ssl-mir"]
