"""An emitted CrewAI program seen through CrewAI's own tools.

Usage: python crewai_flow.py PROGRAM.py VIEW.json INPUT.json OUT.html

Prints one JSON line: the flow's structure as ``build_flow_structure`` (what ``Flow.plot``
draws) sees it — its nodes, start methods and edges — whether ``plot`` wrote OUT.html naming
every node (in the page or its script), and for every op the crew a call of it kicks off
(its agents' roles and goals, its tasks' ``output_pydantic`` JSON schema and converter).
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from pathlib import Path

from crewai.flow.visualization import build_flow_structure

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import world
from crewai_fake import WorldLLM


def main() -> None:
    module, view, _ = world.load_run(sys.argv)
    prompts = {op["system"]: name for name, op in view["ops"].items()}
    llm = WorldLLM(model="world", ops_by_prompt=prompts, served=Counter(), lock=threading.Lock())
    flow = next(v for k, v in vars(module).items() if k.endswith("Plan"))(llm)
    structure = build_flow_structure(flow)
    html = Path(flow.plot(sys.argv[4], show=False))  # the page, with its script beside it
    drawn = "".join(p.read_text(encoding="utf-8") for p in html.parent.glob(html.stem + "*"))
    crews = {}
    for op in sorted(module.OPS):
        crew = module.sample_crew(op, {"x": 1}, llm)
        crews[op] = {
            "agents": [agent.role for agent in crew.agents],
            "goals": [agent.goal for agent in crew.agents],
            "schemas": [task.output_pydantic.model_json_schema() for task in crew.tasks],
            "converters": [task.converter_cls.__name__ for task in crew.tasks],
            "max_iter": [agent.max_iter for agent in crew.agents],
            "max_retry_limit": [agent.max_retry_limit for agent in crew.agents],
        }
    print(
        json.dumps(
            {
                "nodes": sorted(structure["nodes"]),
                "start": structure["start_methods"],
                "edges": sorted([e["source"], e["target"]] for e in structure["edges"]),
                "plotted": all(node in drawn for node in structure["nodes"]),
                "crews": crews,
            }
        )
    )


if __name__ == "__main__":
    main()
