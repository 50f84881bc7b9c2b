#!/usr/bin/env python3
"""A hand-written trace of many requests, for the memory and speed figures of loading a long run
(docs/trace.md, "A long loaded run"). Usage: scripts/make-long-trace.py REQUESTS END_MS NODES
> trace.json. The requests ("add 1" … "add 9") are spread evenly from t=1 s to the end."""
import json
import sys

requests, end_ms, nodes = (int(a) for a in sys.argv[1:4])
inputs = [
    {"at_ms": 1000 + i * (end_ms - 2000) // requests,
     "input": {"type": "append", "command": f"add {i % 9 + 1}"}}
    for i in range(requests)
]
trace = {
    "version": 1,
    "config": {
        "nodes": nodes, "seed": 2, "log_model": "command",
        "timing": {"election_timeout_ms_min": 150, "election_timeout_ms_max": 300,
                   "heartbeat_interval_ms": 50, "fsync_ms": 2, "max_entries_per_append": 8},
        "network": {"latency_ms_min": 5, "latency_ms_max": 15,
                    "loss_probability": 0.0, "duplicate_probability": 0.0},
    },
    "start": {"kind": "empty"},
    "inputs": inputs,
    "end_ms": end_ms,
}
json.dump(trace, sys.stdout)
