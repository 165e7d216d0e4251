"""repro_common.py — the JSON, log and checkpoint reading that both GPU-machine reproduction drivers
(reproduce_opt.sh, reproduce_glue.sh) need in their Python helpers, which import it from this folder."""
import glob
import json
import os


def load(path, default=None):
    """The JSON document at path, or default when it is missing or unreadable."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def dump(path, doc):
    """Writes doc as JSON atomically (a temporary file, then a rename)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def tail(path, n, width=300):
    """The last n non-empty lines of a log (carriage-return progress lines split), each cut to width."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().replace("\r", "\n").splitlines()
    except OSError:
        return ""
    lines = [l[:width] for l in lines if l.strip()]
    return "\n".join(lines[-n:])


def checkpoints(run):
    """[(step, directory, trainer_state)] of a sea-train run directory's complete checkpoints, oldest first."""
    out = []
    for d in glob.glob(os.path.join(run, "checkpoints", "step-*")):
        st = load(os.path.join(d, "trainer_state.json"))
        if st is not None:
            out.append((st.get("step", 0), d, st))
    return sorted(out, key=lambda x: x[0])
