"""``aalp calibrate``: measure an op's rates and token counts on the user's endpoint.

``examples`` reads the labelled units, ``endpoint`` makes one call (over HTTP, or in-process
against the simulated LLM), ``reading`` reads an answer exactly as the emitted programs do,
``sample`` runs the stratified, budgeted, sequentially stopped sampling, ``robust`` holds a
plan against the estimates' intervals, and ``from_run`` turns a run report into counts.
"""
