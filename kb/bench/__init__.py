"""Measuring and training, apart from the core: benchmarks (ObliQA, BEIR), the gold-set scorer,
evaluation helpers, and the tuner (`kb tune`). The core (kb/*) never imports these."""
