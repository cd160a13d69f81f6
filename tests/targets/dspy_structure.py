"""An emitted DSPy program seen through DSPy's own tools.

Usage: python dspy_structure.py PROGRAM.py VIEW.json INPUT.json. Prints one JSON line: the
module's sub-modules (``named_sub_modules``) with their classes, its predictors
(``named_predictors``) with each signature's fields, their types and instructions.
"""

from __future__ import annotations

import json
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import world


def main() -> None:
    module, _, _ = world.load_run(sys.argv, checks=False)
    plan = next(v for k, v in vars(module).items() if k.endswith("Plan"))()
    subs = [[name, type(sub).__name__] for name, sub in plan.named_sub_modules()]
    predictors = {}
    for name, predictor in plan.named_predictors():
        signature = predictor.signature
        predictors[name] = {
            "inputs": list(signature.input_fields),
            "outputs": {k: repr(f.annotation) for k, f in signature.output_fields.items()},
            "instructions": signature.instructions,
        }
    print(json.dumps({"modules": subs, "predictors": predictors}))


if __name__ == "__main__":
    main()
