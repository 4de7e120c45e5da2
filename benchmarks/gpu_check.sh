#!/usr/bin/env bash
# The GPU check: pre-training throughput (full step against model-only, fp32 against bf16; from files, from the
# decoded cache, and from crops cut on the device at batch 64 and 256), the augmentation chain's two paths
# (benchmarks/augment_dispatch.py: kernels, syncs and time per batch), where a CLI pre-training waits for the GPU
# (benchmarks/cuda_syncs.py, SimCLR and MAE), the masked step (MAE's mask skipping, BEST-RQ), MFU of every default pre-training
# config, and the DDP config (configs/trainer/ddp.yaml) running a short SimCLR pre-training, each under its own time
# limit, within about 8 minutes on one GPU; one summary
# at the end. Needs the built-in corpus, which it writes to data/synth if it is missing.
#
#   bash benchmarks/gpu_check.sh [LOG_DIR]                     # logs and summary.txt in LOG_DIR (runs/gpu_check)
#   DEVICE=cpu STEPS=2 bash benchmarks/gpu_check.sh /tmp/gc    # the same script on a CPU, as a dry run
#
# PYTHON names the interpreter (.venv/bin/python by default); WORKERS the DataLoader workers (8).
set -uo pipefail
out=${1:-runs/gpu_check}
py=${PYTHON:-.venv/bin/python}
device=${DEVICE:-cuda}
steps=${STEPS:-40}
workers=${WORKERS:-8}
mkdir -p "$out"
if [ "$device" = cuda ]; then trainer=configs/trainer/gpu_bf16.yaml; ddp=configs/trainer/ddp.yaml
else trainer=configs/trainer/cpu.yaml; ddp=configs/trainer/cpu.yaml; fi

step() {  # step NAME LIMIT_S COMMAND...: run it with its output in $out/NAME.log, and say how it ended
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout -k 20 "$limit" "$@" > "$out/$name.log" 2>&1  # -k: Lightning catches SIGTERM to save a checkpoint
    local rc=$?
    echo "$name: rc $rc in $((SECONDS - start)) s" | tee -a "$out/steps.txt"
}

: > "$out/steps.txt"
"$py" -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')" \
    | tee "$out/device.txt"
[ -f data/synth/manifest.csv ] || step synth 90 "$py" -m ssl_mir.cli synth --out data/synth --n 600 --seed 0
step throughput_cnn2d 100 "$py" benchmarks/pretrain_throughput.py --trainer "$trainer" --steps "$steps" \
    --num_workers "$workers"
step throughput_samplecnn 100 "$py" benchmarks/pretrain_throughput.py --trainer "$trainer" \
    --config configs/pretrain/simclr_samplecnn.yaml --steps "$((steps / 2))" --num_workers "$workers"
step throughput_cnn2d_cached 150 "$py" benchmarks/pretrain_throughput.py --trainer "$trainer" --steps "$steps" \
    --num_workers "$((workers + 6))" --data.decoded_cache "$out/decoded_cache"
step throughput_cnn2d_device 150 "$py" benchmarks/pretrain_throughput.py --trainer "$trainer" --steps "$steps" \
    --num_workers 4 --data.decoded_cache "$out/decoded_cache" --data.device_crops true
step throughput_cnn2d_device_b256 150 "$py" benchmarks/pretrain_throughput.py --trainer "$trainer" \
    --steps "$((steps / 2))" --num_workers 4 --data.decoded_cache "$out/decoded_cache" --data.device_crops true \
    --data.batch_size 256
step augment 60 "$py" benchmarks/augment_dispatch.py --device "$device" --samples 1024 32768 --repeats 10
[ "$device" = cuda ] && step syncs 120 "$py" benchmarks/cuda_syncs.py --steps 30
[ "$device" = cuda ] && step syncs_mae 90 "$py" benchmarks/cuda_syncs.py --steps 30 -- \
    -c configs/pretrain/mae_transformer.yaml
step masked 60 "$py" benchmarks/masked_throughput.py --device "$device" --steps "$((steps / 2))"
step mfu 120 "$py" benchmarks/mfu.py --device "$device" --steps "$((steps / 4 + 1))"
step ddp 100 "$py" -m ssl_mir.cli pretrain -c "$ddp" -c configs/data/synthetic.yaml \
    -c configs/pretrain/simclr_cnn2d.yaml --trainer.max_epochs -1 --trainer.max_steps "$((steps * 2))" \
    --data.num_workers "$workers" --log_to csv --trainer.default_root_dir "$out/ddp_run"

{
    cat "$out/device.txt" "$out/steps.txt"
    grep -h -E "^(config|full step|model-only|ratio|model step)" "$out"/throughput_*.log
    grep -h -E "^(chosen rows|masked|[0-9]+ samples)" "$out/augment.log"
    [ -f "$out/syncs.log" ] && grep -h -E "^syncs:| per step " "$out/syncs.log" | head -12
    [ -f "$out/syncs_mae.log" ] && grep -h -E "^syncs:| per step " "$out/syncs_mae.log" | head -8
    grep -h -E "^(batch|MAE|BEST-RQ)" "$out/masked.log"
    grep -h -E "peak|^[a-z0-9_]+ +[0-9]+x" "$out/mfu.log"
    grep -h -E "Initializing distributed|distributed_backend|max_steps=" "$out/ddp.log" | sort -u
    echo "ddp progress bar, first and last: $(tr '\r' '\n' < "$out/ddp.log" | grep -o "train/loss: [0-9.]*" | sed -n '1p;$p' | tr '\n' ' ')"
    metrics=$(find "$out/ddp_run" -name metrics.csv | head -1)
    if [ -z "$metrics" ]; then echo "ddp run: no metrics.csv (fewer steps than log_every_n_steps)"
    else cp "$metrics" "$out/ddp_metrics.csv" && "$py" - "$metrics"; fi <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r.get("train/loss")]
print(f"ddp run: {len(rows)} logged steps, train/loss {rows[0]['train/loss']} at step {rows[0]['step']} -> "
      f"{rows[-1]['train/loss']} at step {rows[-1]['step']}" if rows else "ddp run: no train/loss logged")
PY
} | tee "$out/summary.txt"
