# ssl_mir: the two set-up commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := runs/demo
CORPUS := data/synth
TRAIN  := configs/trainer/cpu.yaml

.PHONY: install demo test clean

install: $(STAMP)

# tinysoundfont declares pyaudio, which cannot build here and is only needed for live playback:
# it is installed without dependencies so that the corpus gets real SoundFont timbres.
$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev,corpus]'
	$(BIN)/pip install --no-deps 'tinysoundfont>=0.3,<0.4'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/ssl-mir synth --out $(CORPUS) --n 600 --seed 0
	$(BIN)/ssl-mir pretrain -c $(TRAIN) -c configs/data/synthetic.yaml -c configs/pretrain/simclr_cnn2d.yaml \
		--trainer.default_root_dir $(DEMO)/simclr
	$(BIN)/ssl-mir supervised -c $(TRAIN) -c configs/data/synthetic_labeled.yaml -c configs/supervised/cnn2d.yaml \
		--trainer.default_root_dir $(DEMO)/supervised
	$(BIN)/ssl-mir probe -c $(TRAIN) -c configs/probe/linear.yaml -c configs/data/synthetic_labeled.yaml \
		--encoders '[$(DEMO)/simclr/encoder, random:$(DEMO)/simclr/encoder, $(DEMO)/supervised/encoder, mfcc]' \
		--out $(DEMO)/probe
	$(BIN)/ssl-mir compare -c $(TRAIN) -c configs/data/synthetic_labeled.yaml -c configs/probe/linear.yaml \
		-c configs/compare/synthetic.yaml --out $(DEMO)/compare

clean:
	rm -rf $(VENV) runs data *.egg-info
