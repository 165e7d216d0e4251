#!/usr/bin/env python3
"""opt_report.py — Markdown tables and plots from the JSON that scripts/device/reproduce_opt.sh returns.

    python3 scripts/results/opt_report.py DIR [DIR...] [--out OUT_DIR] [--pipeline ID]

Each DIR is searched (recursively) for repro_summary.json files, e.g. the folders the device tool copied back
from several calls. Every summary is cumulative (it holds every stage's state so far), so for each stage the
newest state wins. Summaries of different pipelines (a fresh machine starts a fresh one) are not mixed: the
pipeline with the most finished stages is reported (ties: the newest), or the one --pipeline names.

Writes into OUT_DIR (default: DIR/report for the first DIR): report.md (also printed), dynamic_k.png and
long_context.png (latency, memory, perplexity vs T; matplotlib, when there is something to draw). Tables:
  1. training: steps, tokens per step, throughput, time, status, per model;
  2. perplexity on Wikitext-2 valid and test at the training length, per model (the paper's Table 2 PPL column);
  3. one attention layer, inference, causal, at T = 2048 (the paper's Mem / Lat columns, sea-bench);
  4. dynamic k: the SEA student evaluated at other k without retraining;
  5. long context: whole-model perplexity, seconds per window and peak memory at T > the training length (position
     tables interpolated) for the teacher, the SEA student and the SEA student with dense attention, and
     sea-bench's single-layer latency / memory at those lengths.
"""
import argparse
import json
import math
import os
import sys

from summaries import find_summaries

MODELS = ["teacher", "perlin", "performer", "reformer"]
LABEL = {"teacher": "teacher (dense)", "perlin": "SEA student", "performer": "Performer student",
         "reformer": "Reformer student", "perlin-dense": "SEA student, dense attention"}
LONG_ORDER = ["teacher", "perlin-dense", "perlin"]
# Paper Table 2, OPT-125M (SEA_SPEC.md §7): valid PPL, single-layer Mem (MB) and Lat (ms) at T = 2048.
PAPER = {"teacher": (29.2, 408, 4.88), "perlin": (26.0, 187, 6.76), "performer": (49.8, 51, 1.21),
         "reformer": (63.9, 902, 10.90)}
BENCH_PAPER_ROW = {"none": "teacher", "perlin": "perlin", "performer": "performer", "reformer": "reformer"}


def merge(summaries, pipeline=None):
    """One document per pipeline: for each stage the newest state (by updated_utc, then call end)."""
    by_id = {}
    for s in summaries:
        by_id.setdefault(s.get("pipeline_id", "?"), []).append(s)
    merged = {}
    for pid, docs in by_id.items():
        docs.sort(key=lambda d: d.get("call", {}).get("finished_utc", ""))
        m = {"pipeline_id": pid, "host": docs[-1].get("host", {}), "created_utc": docs[-1].get("created_utc"),
             "calls": [d.get("call", {}) for d in docs], "sources": [d["_path"] for d in docs], "stages": {}}
        for d in docs:
            for name, st in d.get("stages", {}).items():
                old = m["stages"].get(name)
                if old is None or st.get("updated_utc", "") >= old.get("updated_utc", ""):
                    m["stages"][name] = st
        m["settings"] = docs[-1].get("call", {}).get("settings", {})
        m["done"] = sum(1 for st in m["stages"].values() if st.get("status") == "done")
        m["last"] = docs[-1].get("call", {}).get("finished_utc", "")
        merged[pid] = m
    if not merged:
        return None, []
    if pipeline:
        if pipeline not in merged:
            sys.exit(f"no pipeline {pipeline} among {sorted(merged)}")
        chosen = merged[pipeline]
    else:
        chosen = max(merged.values(), key=lambda m: (m["done"], m["last"]))
    return chosen, [p for p in merged if p != chosen["pipeline_id"]]


def fmt(x, digits=2):
    if x is None:
        return "—"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, (int, float)):
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.{digits}f}"
    return str(x)


def ppl_of(ev):
    """{split: (perplexity, partial, windows, seconds)} of one sea-train eval.json."""
    out = {}
    for r in (ev or {}).get("results", []):
        out[r.get("split")] = (r.get("perplexity"), bool(r.get("partial")), r.get("windows"), r.get("seconds"))
    return out


def mem_of(ev):
    m = (ev or {}).get("memory", {})
    if "cuda_peak_allocated_mb" in m:
        return m["cuda_peak_allocated_mb"], "GPU"
    return m.get("peak_rss_mb"), "RSS"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def method_label(ev, name):
    method = (ev or {}).get("method", name)
    k = (ev or {}).get("k")
    return method + (f" (k {k})" if k is not None else "")


def bench_rows(stage):
    doc = (stage or {}).get("sea_bench") or {}
    return doc, [r for r in doc.get("rows", []) if r.get("direction", "causal") == "causal"]


def report(m, others, out_dir):
    st = m["stages"]
    s = m["settings"]
    T = s.get("seq_len")
    md = [f"# OPT / Wikitext-2 at our scale: pipeline {m['pipeline_id']}", ""]
    host = m.get("host", {})
    md.append(f"Host: {host.get('gpu', '?')}; torch {host.get('python_torch', '?')}; commit "
              f"{str(host.get('git_commit', '?'))[:12]}; pipeline created {m.get('created_utc')}; "
              f"{len(m['calls'])} call(s) read, the last ended {m['last']}.")
    if others:
        md.append(f"(Other pipelines in the inputs, not reported: {', '.join(others)}; use --pipeline.)")
    md.append(f"Settings: model {s.get('model')} {s.get('model_set') or ''}, T = {T}, device {s.get('device')}, "
              f"seed {s.get('seed')}; teacher {s.get('teacher')}; students {s.get('students')}; "
              f"SEA {s.get('perlin')}; Performer {s.get('performer')}; Reformer {s.get('reformer')}.")
    md.append("")

    # 0. Stage status.
    order = (m["calls"][-1].get("all_stages") if m["calls"] else None) or list(st)
    md += ["## Stages", "", table(["stage", "status", "note"],
                                  [[n, st.get(n, {}).get("status", "pending"), st.get(n, {}).get("note", "") or ""]
                                   for n in order]), ""]

    # 1. Training.
    rows = []
    for name in MODELS:
        t = st.get(name)
        if not t or "steps_done" not in t:
            continue
        rc = t.get("run_config", {})
        tr = rc.get("train", {})
        rows.append([LABEL[name], rc.get("attention", {}).get("method", "?"),
                     f"{t.get('steps_done')}/{t.get('steps_target')}",
                     f"{rc.get('data', {}).get('batch_size')} × {tr.get('grad_accum')} × {rc.get('data', {}).get('seq_len')}",
                     fmt(t.get("tokens_per_s_median"), 0), fmt(t.get("seconds"), 0), tr.get("lr"),
                     t.get("seed"), t.get("status")])
    if rows:
        md += ["## Training", "",
               table(["model", "method", "steps", "tokens per step (batch × accum × T)", "tokens/s (median)",
                      "seconds", "lr", "seed", "status"], rows), ""]

    # 2. Perplexity (Table 2, PPL).
    ev = (st.get("eval") or {}).get("results", {})
    rows = []
    for name in MODELS:
        e = ev.get(name)
        if e is None:
            rows.append([LABEL[name], "—", "not evaluated", "—", "—", "—", fmt(PAPER[name][0], 1)])
            continue
        p = ppl_of(e)
        mem, kind = mem_of(e)
        star = lambda split: " *" if p.get(split, (0, False))[1] else ""
        rows.append([LABEL[name], method_label(e, name), fmt(p.get("valid", (None,))[0]) + star("valid"),
                     fmt(p.get("test", (None,))[0]) + star("test"),
                     fmt(p.get("valid", (None, 0, None))[2], 0), f"{fmt(mem, 0)} ({kind})", fmt(PAPER[name][0], 1)])
    md += [f"## Perplexity, Wikitext-2 (T = {T})", "",
           table(["model", "attention", "valid ppl", "test ppl", "valid windows", "peak memory in eval (MB)",
                  "paper 125M valid ppl"], rows), "",
           "\\* partial (SEA_REPRO_EVAL_BATCHES > 0). The paper's teachers are pretrained OPT fine-tuned on "
           "Wikitext-2 and its students ran 10k steps of 32 × 2048 tokens; ours are trained from scratch / for the "
           "step budget above, so compare the ordering and the gaps, not the values.", ""]

    # 3. One layer at T = 2048.
    bdoc, brows = bench_rows(st.get("bench"))
    if brows:
        dev = bdoc.get("device", {}).get("name", "?")
        cfg = bdoc.get("settings", {})
        rows = []
        with_paper = T == 2048  # the paper's columns are for OPT-125M's layer at T = 2048
        for r in brows:
            if r.get("T") != T:
                continue
            f = r.get("forward") or {}
            paper = PAPER.get(BENCH_PAPER_ROW.get(r["method"], ""), (None, None, None))
            rows.append([r["method"], fmt(f.get("ms"), 3) if f.get("ok") else (f.get("error") or r.get("skipped") or "—"),
                         fmt(f.get("peak_mb"), 1) if f.get("ok") else "—"]
                        + ([fmt(paper[2]), fmt(paper[1], 0)] if with_paper else []) + [f.get("note", "")])
        header = ["method", "forward ms", "peak MB"] + (["paper Lat (ms)", "paper Mem (MB)"] if with_paper else []) \
            + ["note"]
        md += [f"## One attention layer, inference, causal, T = {T} (sea-bench)", "",
               f"{dev}, {cfg.get('dtype')}, batch {cfg.get('batch')}, {cfg.get('heads')} heads of {cfg.get('head_dim')}, "
               f"random weights; `{bdoc.get('command', '')}`", "",
               table(header, rows), "",
               "sdpa = torch SDPA (flash on CUDA), none = dense attention with its T×T probabilities materialised "
               "(the paper's vanilla layer). sea-bench times the attention operator on given q, k, v; the paper's "
               "layer also had the q/k/v projections (fc1, fc2, out_proj replaced by identity), fp32, batch filling 6 GB.",
               ""]

    # 4. Dynamic k.
    dk = (st.get("dynamic-k") or {}).get("results", {})
    trained_k = s.get("perlin", {}).get("k")
    curve = []
    if dk:
        rows = []
        for key in sorted(dk, key=lambda x: float(x)):
            p = ppl_of(dk[key])
            curve.append((float(key), p.get("valid", (None,))[0], p.get("test", (None,))[0]))
            rows.append([key + (" (trained)" if trained_k is not None and float(key) == float(trained_k) else ""),
                         fmt(p.get("valid", (None,))[0]), fmt(p.get("test", (None,))[0]),
                         fmt(mem_of(dk[key])[0], 0)])
        md += [f"## Dynamic k: the SEA student (trained with k = {trained_k}) evaluated at other k, T = {T}", "",
               table(["k", "valid ppl", "test ppl", "peak memory (MB)"], rows), ""]

    # 5. Long context.
    lc = (st.get("long-context") or {}).get("results", {})
    long_pts = {}  # model -> [(T, valid, test, s/window, mem)]
    if lc or brows:
        for key, e in lc.items():
            name, _, L = key.partition("@")
            p = ppl_of(e)
            v = p.get("valid", (None, False, None, None))
            per_window = v[3] / v[2] if v[2] and v[3] else None
            long_pts.setdefault(name, []).append((int(L), v[0], p.get("test", (None,))[0], per_window, mem_of(e)[0],
                                                  v[1]))
        for name in ("teacher", "perlin"):  # the training length from the eval stage, if the stage lacks it
            e = ev.get(name)
            if e is not None and name in long_pts and all(pt[0] != T for pt in long_pts[name]):
                p = ppl_of(e)
                v = p.get("valid", (None, False, None, None))
                long_pts[name].append((T, v[0], p.get("test", (None,))[0],
                                       v[3] / v[2] if v[2] and v[3] else None, mem_of(e)[0], v[1]))
        rows = []
        for name in sorted(long_pts, key=lambda n: LONG_ORDER.index(n) if n in LONG_ORDER else len(LONG_ORDER)):
            for L, vp, tp, spw, mem, partial in sorted(long_pts[name]):
                star = " *" if partial else ""
                rows.append([LABEL.get(name, name), L, fmt(vp) + star, fmt(tp) + star,
                             fmt(spw * 1000 if spw else None, 1), fmt(mem, 0)])
        if rows:
            md += [f"## Long context: whole model, position tables interpolated from {T}", "",
                   table(["model", "T", "valid ppl", "test ppl", "ms per window (valid, batch 1)",
                          "peak memory (MB)"], rows), "",
                   "No fine-tuning at the new length (the reference fine-tuned after resizing). \"SEA student, "
                   "dense attention\" is the SEA student's weights run with dense attention (`--method none`): the "
                   "same model, SEA vs dense. * partial (first windows only).", ""]
        longer = sorted({r["T"] for r in brows if r.get("T") and r["T"] != T})
        if longer:
            methods = []
            for r in brows:
                if r["method"] not in methods:
                    methods.append(r["method"])
            rows = []
            for L in [T] + longer:
                row = [L]
                for meth in methods:
                    r = next((r for r in brows if r["method"] == meth and r["T"] == L), None)
                    f = (r or {}).get("forward") or {}
                    row.append(f"{fmt(f.get('ms'), 3)} / {fmt(f.get('peak_mb'), 0)}" if f.get("ok")
                               else ((f.get("error") or (r or {}).get("skipped") or "—")[:40]))
                rows.append(row)
            md += ["## Long context: one attention layer (sea-bench), forward ms / peak MB", "",
                   table(["T"] + methods, rows), ""]

    os.makedirs(out_dir, exist_ok=True)
    plots = plot(out_dir, curve, trained_k, ev, long_pts, brows, T)
    if plots:
        md += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    md += ["Sources: " + ", ".join(m["sources"]), ""]
    text = "\n".join(md)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(text)
    return text


def plot(out_dir, curve, trained_k, ev, long_pts, brows, T):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("warning: matplotlib is not installed (scripts/bootstrap.sh installs it): no plots", file=sys.stderr)
        return []
    made = []
    if curve:
        fig, ax = plt.subplots(figsize=(6, 4))
        ks = [c[0] for c in curve]
        for idx, split in ((1, "valid"), (2, "test")):
            pts = [(c[0], c[idx]) for c in curve if c[idx] is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"SEA student, {split}")
        t = ppl_of(ev.get("teacher")).get("valid", (None,))[0]
        if t is not None:
            ax.axhline(t, color="gray", linestyle="--", label="dense teacher, valid")
        if trained_k is not None:
            ax.axvline(float(trained_k), color="gray", linestyle=":", label=f"trained k = {trained_k}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks)
        ax.set_xticklabels([f"{k:g}" for k in ks])
        ax.set_xlabel("k at evaluation")
        ax.set_ylabel("perplexity")
        ax.set_title(f"Dynamic k (T = {T})")
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "dynamic_k.png"), dpi=120)
        plt.close(fig)
        made.append("dynamic_k.png")
    if long_pts or brows:
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
        for meth in sorted({r["method"] for r in brows}):
            pts = sorted((r["T"], r["forward"]["ms"], r["forward"]["peak_mb"]) for r in brows
                         if r["method"] == meth and (r.get("forward") or {}).get("ok"))
            if pts:
                axes[0].plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"layer: {meth}")
                axes[1].plot([p[0] for p in pts], [p[2] for p in pts], marker="o", label=f"layer: {meth}")
        for name, pts in sorted(long_pts.items()):
            pts = sorted(pts)
            lat = [(p[0], p[3] * 1000) for p in pts if p[3]]
            mem = [(p[0], p[4]) for p in pts if p[4]]
            if lat:
                axes[0].plot([p[0] for p in lat], [p[1] for p in lat], marker="s", linestyle="--",
                             label=f"model: {LABEL.get(name, name)}")
            if mem:
                axes[1].plot([p[0] for p in mem], [p[1] for p in mem], marker="s", linestyle="--",
                             label=f"model: {LABEL.get(name, name)}")
            ppl = [(p[0], p[1]) for p in pts if p[1] is not None]
            if ppl:
                axes[2].plot([p[0] for p in ppl], [p[1] for p in ppl], marker="s", linestyle="--",
                             label=LABEL.get(name, name))
        for ax, what in ((axes[0], "latency (ms; layer forward / model per window)"), (axes[1], "peak memory (MB)")):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("sequence length T")
            ax.set_ylabel(what)
            ax.legend(fontsize=7)
        axes[2].set_xscale("log", base=2)
        axes[2].set_xlabel("sequence length T")
        axes[2].set_ylabel(f"valid perplexity (positions grown from {T})")
        if axes[2].has_data():
            axes[2].legend(fontsize=7)
        fig.suptitle("Long context: latency, memory and perplexity vs T")
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "long_context.png"), dpi=120)
        plt.close(fig)
        made.append("long_context.png")
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", help="folders (or files) holding repro_summary.json")
    ap.add_argument("--out", help="output folder (default: <first DIR>/report)")
    ap.add_argument("--pipeline", help="report this pipeline id")
    a = ap.parse_args()
    summaries = find_summaries(a.dirs, "repro_summary.json", "reproduce_opt.sh")
    if not summaries:
        sys.exit("no repro_summary.json under " + " ".join(a.dirs))
    chosen, others = merge(summaries, a.pipeline)
    out = a.out or os.path.join(a.dirs[0] if os.path.isdir(a.dirs[0]) else os.path.dirname(a.dirs[0]), "report")
    print(report(chosen, others, out))
    print(f"\nwritten: {os.path.join(out, 'report.md')}", file=sys.stderr)


if __name__ == "__main__":
    main()
