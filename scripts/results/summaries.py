"""summaries.py — finding and reading the JSON summaries that the GPU-machine drivers return (the folders the
device tool copied back), shared by opt_report.py and glue_report.py."""
import glob
import json
import os
import sys


def load(path):
    """The JSON document at path, or None (with a warning) when it cannot be read."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"warning: cannot read {path}: {e}", file=sys.stderr)
        return None


def find_summaries(paths, filename, tool):
    """Every `filename` under the given folders (or the files themselves) written by the driver `tool`, each with
    its path in "_path", in path order per argument."""
    out = []
    for d in paths:
        found = [d] if os.path.isfile(d) else glob.glob(os.path.join(d, "**", filename), recursive=True)
        for p in sorted(found):
            doc = load(p)
            if doc and str(doc.get("tool", "")).endswith(tool):
                doc["_path"] = p
                out.append(doc)
    return out
