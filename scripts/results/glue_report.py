#!/usr/bin/env python3
"""glue_report.py — the GLUE table (task × method) from the JSON that scripts/device/reproduce_glue.sh returns.

    python3 scripts/results/glue_report.py DIR [DIR...] [--out report.md | --out FOLDER] [--json report.json]
                                           [--plot glue.png]

Each DIR (or file) is searched recursively for glue_summary.json, e.g. the folders the device tool copied back
from every call of every lease. A summary is cumulative within its pipeline (one machine = one pipeline), so
for each stage the newest state wins. Different leases run different tasks; for each task the pipeline with the
most finished stages of that task is reported (ties: the newest), so a task's students are never paired with
another lease's teacher.

Prints (and writes to --out) Markdown:
  1. the metrics: rows = teacher and students, columns = CoLA (Matthews), SST-2 (accuracy), MRPC (F1 / accuracy,
     on the labelled test set as the reference), STS-B (Pearson / Spearman), RTE (accuracy), all × 100;
  2. the same as differences to the task's teacher (points);
  3. training: steps, ms per step, tokens/s, time and status per task and model; then the settings and hosts.
A cell is "—" when the model has no result, and names the status when the stage is not finished.
--out FOLDER writes FOLDER/report.md. --plot draws one panel per task: SEA's metric (the task's first one) against
its k, with the teacher, Performer and Reformer as horizontal lines (needs matplotlib; the paper's Fig. 7a view).
"""
import argparse
import json
import os
import sys

from summaries import find_summaries

TASKS = [("cola", "CoLA", ["matthews"]), ("sst2", "SST-2", ["accuracy"]), ("mrpc", "MRPC", ["f1", "accuracy"]),
         ("stsb", "STS-B", ["pearson", "spearman"]), ("rte", "RTE", ["accuracy"])]
METRIC_NAME = {"matthews": "Matthews", "accuracy": "acc", "f1": "F1", "pearson": "Pearson", "spearman": "Spearman"}
MODELS = ["teacher", "perlin-k7", "perlin-k13", "perlin-k25", "performer", "reformer"]
LABEL = {"teacher": "teacher (dense)", "perlin-k7": "SEA k=7", "perlin-k13": "SEA k=13", "perlin-k25": "SEA k=25",
         "performer": "Performer", "reformer": "Reformer"}


def merge(summaries):
    """{pipeline_id: merged document}: each stage's newest state over the pipeline's calls."""
    by_id = {}
    for s in summaries:
        by_id.setdefault(s.get("pipeline_id", "?"), []).append(s)
    merged = {}
    for pid, docs in by_id.items():
        docs.sort(key=lambda d: d.get("call", {}).get("finished_utc", ""))
        m = {"pipeline_id": pid, "host": docs[-1].get("host", {}), "created_utc": docs[-1].get("created_utc", ""),
             "calls": [d.get("call", {}) for d in docs], "sources": [d["_path"] for d in docs],
             "inputs": next((d["inputs"] for d in reversed(docs) if d.get("inputs")), None), "stages": {}}
        for d in docs:
            for name, st in d.get("stages", {}).items():
                old = m["stages"].get(name)
                if old is None or st.get("updated_utc", "") >= old.get("updated_utc", ""):
                    m["stages"][name] = st
        m["settings"] = docs[-1].get("call", {}).get("settings", {})
        m["last"] = docs[-1].get("call", {}).get("finished_utc", "")
        merged[pid] = m
    return merged


def pick_pipeline(merged, task):
    """The pipeline with the most finished stages of this task (ties: the newest); None if none ran it."""
    best, best_key = None, None
    for m in merged.values():
        stages = {k: v for k, v in m["stages"].items() if k.startswith(task + "/")}
        if not stages:
            continue
        key = (sum(1 for v in stages.values() if v.get("status") == "done"), m["last"])
        if best_key is None or key > best_key:
            best, best_key = m, key
    return best


def result_of(m, task, model):
    """(metrics dict, flags) for one model of one task, or (None, status)."""
    ev = m["stages"].get(f"{task}/eval", {}).get("results", {}).get(model)
    if ev:
        r = next((x for x in ev.get("results", []) if isinstance(x, dict)), None)
        if r is not None:
            return r, ("partial" if r.get("partial") else "")
    st = m["stages"].get(f"{task}/{model}", {})
    fe = st.get("final_eval")
    if st.get("status") == "done" and fe:
        return fe, "training's final evaluation" + (", partial" if fe.get("partial") else "")
    return None, st.get("status", "not run")


def cell(r, metrics, scale=100.0, base=None):
    vals = []
    for k in metrics:
        v = r.get(k)
        if v is None:
            vals.append("n/a")
        elif base is not None:
            b = base.get(k)
            vals.append("n/a" if b is None else f"{(v - b) * scale:+.1f}")
        else:
            vals.append(f"{v * scale:.1f}")
    return " / ".join(vals)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def fmt_num(x, fmt="{:.0f}"):
    return "—" if x is None else fmt.format(x)


def report(merged):
    chosen = {t: pick_pipeline(merged, t) for t, _, _ in TASKS}
    models = [m for m in MODELS if any(c and (f"{t}/{m}" in c["stages"]) for t, c in chosen.items())] or MODELS
    header = ["model"] + [f"{name} ({' / '.join(METRIC_NAME[x] for x in mets)})" for _, name, mets in TASKS]
    rows, drows, notes, data = [], [], [], {}
    for model in models:
        row, drow = [LABEL[model]], [LABEL[model]]
        for task, name, mets in TASKS:
            m = chosen[task]
            if m is None:
                row.append("—"); drow.append("—")
                continue
            r, flag = result_of(m, task, model)
            if r is None:
                row.append("—" if flag in ("not run", "pending") else f"({flag})"); drow.append("—")
                continue
            mark = ""
            if flag:
                if flag not in notes:
                    notes.append(flag)
                mark = " " + "*" * (notes.index(flag) + 1)
            row.append(cell(r, mets) + mark)
            data.setdefault(task, {})[model] = {k: r.get(k) for k in mets} | {"split": r.get("split"),
                                                                               "examples": r.get("examples"),
                                                                               "flag": flag}
            base, _ = result_of(m, task, "teacher")
            drow.append("0" if model == "teacher" and base is not None else
                        (cell(r, mets, base=base) if base is not None else "—"))
        rows.append(row)
        drows.append(drow)
    out = ["# GLUE: SEA and baselines distilled from a fine-tuned MiniLM teacher", "",
           "## Metrics (× 100)", "", table(header, rows), ""]
    for i, n in enumerate(notes):
        out.append("*" * (i + 1) + f" {n}")
    splits = []
    for task, name, _ in TASKS:
        r = data.get(task, {}).get("teacher") or next(iter(data.get(task, {}).values()), None)
        if r:
            splits.append(f"{name}: {r['split']} ({r['examples']} examples)")
    if splits:
        out += ["", "Evaluation splits: " + "; ".join(splits) + " (MRPC on its labelled test set, as the reference)."]
    out += ["", "## Difference to the task's teacher (points)", "", table(header, drows), ""]

    # Training details.
    trows = []
    for task, name, _ in TASKS:
        m = chosen[task]
        if m is None:
            continue
        for model in models:
            st = m["stages"].get(f"{task}/{model}")
            if not st:
                continue
            rc = st.get("run_config", {})
            tps = st.get("tokens_per_s_median")
            sps = st.get("seconds_per_step_median")
            trows.append([name, LABEL[model], f"{st.get('steps_done', 0)}/{st.get('steps_target', '?')}",
                          fmt_num(sps * 1000 if sps else None), fmt_num(tps), fmt_num(st.get("seconds")),
                          rc.get("train", {}).get("lr", "—"), st.get("status", "?"), m["pipeline_id"]])
    if trows:
        out += ["## Training", "",
                table(["task", "model", "steps", "ms / step (median)", "tokens / s", "seconds (all calls)",
                       "lr", "status", "pipeline"], trows), ""]
    # Settings and hosts.
    out += ["## Settings and hosts", ""]
    for pid in sorted({c["pipeline_id"] for c in chosen.values() if c}):
        m = merged[pid]
        s = m["settings"]
        tasks = [name for t, name, _ in TASKS if chosen[t] is m]
        out.append(f"- pipeline `{pid}` ({', '.join(tasks)}): {m['host'].get('gpu', '?')}, torch "
                   f"{m['host'].get('python_torch', '?')}, commit {str(m['host'].get('git_commit', '?'))[:10]}, "
                   f"created {m['created_utc']}, {len(m['calls'])} call(s)")
        if s:
            p, r = s.get("perlin", {}), s.get("reformer", {})
            out.append(f"  - seq_len {s.get('seq_len')}, batch {s.get('batch')}, seed {s.get('seed')}, device "
                       f"{s.get('device')}; teacher steps {s.get('teacher', {}).get('steps')}, lr "
                       f"{s.get('teacher', {}).get('lr')} cosine; student steps {s.get('students', {}).get('steps')}, "
                       f"lr {s.get('students', {}).get('lr')} constant (method parameters ×10); SEA K "
                       f"{p.get('predictor_length')}, nbf {p.get('nb_feature_factor')}, {p.get('k_flatten_dim')}, "
                       f"{p.get('context_output_method')}; Performer nbf "
                       f"{s.get('performer', {}).get('nb_feature_factor')}; Reformer bucket {r.get('bucket_size')}, "
                       f"{r.get('n_hashes')} hashes")
        inp = m.get("inputs") or {}
        if inp:
            prov = inp.get("teacher_provenance") or {}
            src = prov.get("upstream") or inp.get("teacher_source")
            out.append(f"  - teacher init: {src} ({inp.get('teacher_dtype')}, weights sha256 "
                       f"{str(inp.get('teacher_weights_sha256', ''))[:16]}…)")
    missing = [name for t, name, _ in TASKS if chosen[t] is None]
    if missing:
        out.append(f"- not run yet: {', '.join(missing)}")
    return "\n".join(out) + "\n", data


def plot(data, path):
    """One panel per task with results: SEA's first metric vs k; teacher / Performer / Reformer as lines."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tasks = [(t, name, mets[0]) for t, name, mets in TASKS if data.get(t)]
    if not tasks:
        print("warning: no results to plot", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.0), squeeze=False)
    styles = {"teacher": ("k", "-"), "performer": ("tab:orange", "--"), "reformer": ("tab:green", ":")}
    for ax, (task, name, metric) in zip(axes[0], tasks):
        rows = data[task]
        ks = [(int(m.split("-k")[1]), rows[m][metric]) for m in rows if m.startswith("perlin-k")
              and rows[m].get(metric) is not None]
        ks.sort()
        if ks:
            ax.plot([k for k, _ in ks], [100 * v for _, v in ks], "o-", color="tab:blue", label="SEA")
        for model, (color, ls) in styles.items():
            v = rows.get(model, {}).get(metric)
            if v is not None:
                ax.axhline(100 * v, color=color, linestyle=ls, label=LABEL[model])
        ax.set_xscale("log", base=2)
        ax.set_xticks([k for k, _ in ks] or [7, 13, 25])
        ax.set_xticklabels([str(k) for k, _ in ks] or ["7", "13", "25"])
        ax.set_xlabel("k (SEA's keys per query)")
        ax.set_title(f"{name} ({METRIC_NAME[metric]} × 100)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"written: {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", help="folders (or files) holding glue_summary.json")
    ap.add_argument("--out", help="write the Markdown here too (a folder: FOLDER/report.md)")
    ap.add_argument("--json", help="write the table's numbers as JSON here")
    ap.add_argument("--plot", help="draw SEA's metric vs k per task, baselines as lines, into this PNG")
    args = ap.parse_args()
    summaries = find_summaries(args.dirs, "glue_summary.json", "reproduce_glue.sh")
    if not summaries:
        sys.exit(f"no glue_summary.json from reproduce_glue.sh under {' '.join(args.dirs)}")
    merged = merge(summaries)
    md, data = report(merged)
    print(md, end="")
    if args.out:
        out = os.path.join(args.out, "report.md") if os.path.isdir(args.out) else args.out
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            f.write(md)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tasks": data, "pipelines": sorted(merged)}, f, indent=1)
    if args.plot:
        plot(data, args.plot)


if __name__ == "__main__":
    main()
