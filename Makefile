# mineledger: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= ../shared/data
STORE  := mineledger-demo.gpkg
ML     := $(BIN)/mineledger --store $(STORE)

.PHONY: demo test bench bench-check clean
comma := ,
space := $(subst ,, )
SIZES  ?= S M
BENCH_BACKENDS ?= gpkg postgis

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# GDAL's GeoPackage validator; its `gdal` requirement is the C bindings, which it does not need.
	$(BIN)/python -m pip install --quiet --no-deps gdal-utils
	touch $@

demo: $(BIN)/.installed
	$(ML) import $(DATA)/colombia/co_2018_MGN_DPTO_POLITICO.geojson --profile dane-departments
	$(ML) import $(DATA)/colombia/co_2018_MGN_MPIO_POLITICO.geojson --profile dane-municipalities
	$(ML) import $(DATA)/colombia/aicma_events_1990-2019 --profile aicma-events
	$(ML) import $(DATA)/colombia/Situacion_Victimas_Minas_Antipersonal_en_Colombia_20240103.csv --profile aicma-victims
	$(ML) import $(DATA)/bih/geoBoundaries-BIH-ADM1.geojson --profile geoboundaries --country BIH
	$(ML) import $(DATA)/bih/geoBoundaries-BIH-ADM2.geojson --profile geoboundaries --country BIH
	$(ML) import $(DATA)/bih/geoBoundaries-BIH-ADM3.geojson --profile geoboundaries --country BIH
	$(ML) import $(DATA)/bih/suspect_areas_simplyfied.geojson --profile bih-suspected-areas
	$(ML) import $(DATA)/bih/cleared_areas_simplyfied.geojson --profile bih-cleared-areas
	$(ML) import $(DATA)/bih/incidents.geojson --profile bih-incidents
	$(ML) import $(DATA)/bih/lifted_minefields.geojson --profile bih-lifted-minefields
	$(ML) link --country BIH
	$(ML) check --country COL
	$(ML) check --country BIH
	$(ML) summary --country COL --format table
	$(ML) summary --country BIH --format table
	$(ML) report --country COL --out demo-report/COL --overwrite
	$(ML) landrelease --country BIH --by admin2
	$(ML) report --country BIH --out demo-report/BIH --overwrite
	@echo
	@echo "Explore the store:"
	@echo "  $(ML) layers"
	@echo "  $(ML) summary --country BIH --format json"
	@echo "  $(ML) quarantine list"
	@echo "  $(ML) imports"
	@echo "  open demo-report/COL/index.html and demo-report/BIH/index.html in a browser"
	@echo "  open $(STORE) in QGIS, or: $(BIN)/python -c \"import pyogrio; print(pyogrio.list_layers('$(STORE)'))\""

# The tests run on both back ends: the embedded GeoPackage, and PostgreSQL/PostGIS on
# 127.0.0.1:5432 (scripts/postgis-up installs and starts it if needed; each run makes its own
# throwaway databases and drops them). MINELEDGER_TEST_BACKENDS=gpkg runs the embedded only.
test: $(BIN)/.installed
	scripts/postgis-up
	$(BIN)/python -m pytest -q

# Benchmarks (not part of `make test`): each workload beside its hand-written baseline, at
# the synthetic sizes in SIZES (S = 10^4, M = 10^5, L = 10^6 hazards); results in
# benchmarks/results/ (JSON and markdown), recorded in docs/benchmarks.md.
bench: $(BIN)/.installed
	MINELEDGER_TEST_BACKENDS=$(subst $(space),$(comma),$(BENCH_BACKENDS)) scripts/postgis-up
	$(BIN)/python -m benchmarks.run --sizes $(SIZES) --backends $(BENCH_BACKENDS)

# Reruns size S (on PostGIS too if it answers) and prints each workload's ratio beside the
# committed one in benchmarks/results/ (which it leaves alone).
bench-check: $(BIN)/.installed
	$(BIN)/python -m benchmarks.run --check

clean:
	rm -rf $(VENV) $(STORE) $(STORE)-wal $(STORE)-shm demo-report
