# ssl_mir: the two set-up commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := runs/demo
CORPUS := data/pieces
TRAIN  := configs/trainer/cpu.yaml

.PHONY: install demo test clean

install: $(STAMP)

# tinysoundfont declares pyaudio, which cannot build here and is only needed for live playback:
# it is installed without dependencies so that the corpus gets real SoundFont timbres.
# hearvalidator declares TensorFlow, which its check of a PyTorch model never calls (the test stubs the import).
$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev,corpus]'
	$(BIN)/pip install --no-deps 'tinysoundfont>=0.3,<0.4' 'hearvalidator==2021.0.2'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/ssl-mir synth --kind pieces --out $(CORPUS) --workers 2
	$(BIN)/ssl-mir pretrain -c $(TRAIN) -c configs/data/pieces.yaml -c configs/pretrain/simclr_cnn2d.yaml \
		--trainer.max_epochs -1 --trainer.max_steps 1500 --trainer.default_root_dir $(DEMO)/pretrain
	$(BIN)/ssl-mir compare -c $(TRAIN) -c configs/data/pieces_labeled.yaml -c configs/probe/linear.yaml \
		-c configs/compare/pieces.yaml --out $(DEMO)/compare

clean:
	rm -rf $(VENV) runs data *.egg-info
