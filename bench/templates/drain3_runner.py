"""Drain3 side of `npm run bench:templates`.

Reads a JSON job {"min_seconds", "min_reps", "max_reps", "labels", "systems": [{"name", "lines": [...]}]} from the
file given as argv[1], and writes a JSON result to argv[2]: per system, the cluster id and final template of every line
(one pass; skipped when "labels" is false) and the timing of the add loop (every pass, and their median).

Configuration: Drain3's defaults (TemplateMinerConfig(): sim_th 0.4, depth 4, max_children 100, no cluster cap,
numeric tokens parametrized, mask prefix "<" and suffix ">") plus the masking instructions of Drain3's example
drain3.ini (examples/drain3.ini in the Drain3 repository; its README documents the IP and NUM ones). The example's
other settings (max_clusters 1024, extra_delimiters ["_"], mask prefix "<:") are not defaults and are not used.

Timing: one untimed warm-up pass, then passes with a fresh TemplateMiner each until min_reps passes and min_seconds
of timed work (at most max_reps); the median pass time is reported. Only the add_log_message loop is timed. Single
thread.
"""
import json
import statistics
import sys
import time

import drain3
from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

MASKING = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
]


def make_miner():
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(p, name) for p, name in MASKING]
    config.profiling_enabled = False
    # No persistence handler: nothing is written anywhere.
    return TemplateMiner(config=config)


def config_description():
    c = TemplateMinerConfig()
    return {
        "sim_th": c.drain_sim_th,
        "depth": c.drain_depth,
        "max_children": c.drain_max_children,
        "max_clusters": c.drain_max_clusters,
        "extra_delimiters": c.drain_extra_delimiters,
        "parametrize_numeric_tokens": c.parametrize_numeric_tokens,
        "mask_prefix": c.mask_prefix,
        "mask_suffix": c.mask_suffix,
        "masking": [{"regex_pattern": p, "mask_with": name} for p, name in MASKING],
    }


def mine(lines):
    miner = make_miner()
    ids = [miner.add_log_message(line)["cluster_id"] for line in lines]
    templates = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    return [ids, [templates[i] for i in ids]]


def time_miner(lines, min_seconds, min_reps, max_reps):
    mine(lines)  # warm-up, untimed
    passes = []
    while len(passes) < max_reps and (len(passes) < min_reps or sum(passes) < min_seconds):
        miner = make_miner()
        add = miner.add_log_message
        sink = [None] * len(lines)
        t0 = time.perf_counter()
        for i, line in enumerate(lines):
            sink[i] = add(line)
        passes.append(time.perf_counter() - t0)
    return {
        "reps": len(passes),
        "lines": len(lines),
        "median_seconds": statistics.median(passes),
        "total_seconds": sum(passes),
        "passes": passes,
    }


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    out = {
        "drain3_version": getattr(drain3, "__version__", None),
        "python": sys.version.split()[0],
        "config": config_description(),
        "systems": [],
    }
    try:
        from importlib.metadata import version

        out["drain3_version"] = version("drain3")
    except Exception:  # the version is informative only
        pass
    for system in job["systems"]:
        lines = system["lines"]
        # Later timing rounds of the same system skip the labelled pass (the bench needs it once).
        ids, templates = mine(lines) if job.get("labels", True) else [[], []]
        timing = time_miner(lines, job["min_seconds"], job["min_reps"], job["max_reps"])
        out["systems"].append({"name": system["name"], "cluster_ids": ids, "templates": templates, "timing": timing})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
