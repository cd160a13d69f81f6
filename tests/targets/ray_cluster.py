"""A Ray cluster of several nodes on this machine, for the ray target's tests (run in the Ray
venv; ``ray.cluster_utils.Cluster`` starts one raylet per node).

    python ray_cluster.py --head-cpus 1 --workers 2 --cpus 1

prints one JSON line, ``{"address": ..., "nodes": [node ids]}``, once every node is up, then
obeys one command per line on stdin, answering each with a JSON line:
``remove-node`` kills the last worker node still alive (its raylet and its workers);
``quit`` (or the end of stdin) shuts the cluster down.
"""

from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--head-cpus", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--cpus", type=int, default=1)
    args = parser.parse_args()
    from ray.cluster_utils import Cluster

    # every node on loopback: the network guard refuses any other address
    local = {"node_ip_address": "127.0.0.1"}
    head = {"num_cpus": args.head_cpus, "include_dashboard": False, **local}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    workers = [cluster.add_node(num_cpus=args.cpus, **local) for _ in range(args.workers)]
    try:
        cluster.wait_for_nodes()
        nodes = [cluster.head_node.node_id, *(w.node_id for w in workers)]
        print(json.dumps({"address": cluster.address, "nodes": nodes}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "quit":
                break
            if command == "remove-node" and workers:
                node = workers.pop()
                cluster.remove_node(node, allow_graceful=False)
                print(json.dumps({"removed": node.node_id}), flush=True)
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    finally:
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
