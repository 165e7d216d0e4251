#!/usr/bin/env python3
"""render_attention.py — draw what sea-attention-map wrote: for one layer, the dense teacher's attention,
SEA's estimated attention (compressed T×K, and decompressed to T×T) and SEA's sparse attention, side by side
in one PNG (issue 7, item 4; docs/ATTENTION.md "Inspecting attention").

    build/apps/sea-attention-map --teacher runs/t --student runs/s --text "..." --out attn/
    python3 scripts/render_attention.py attn/ --layer 0 --head 0            # one head: 4 panels in a row
    python3 scripts/render_attention.py attn/ --layer 1 --heads all         # a grid: one row per head
    python3 scripts/render_attention.py attn/ --layer 1 --heads 0,2 --out fig.png

Input (the directory sea-attention-map writes; apps/sea_attention_map.cpp documents every tensor):
attention_map.json (layers, files, k, K, ...), tokens.json (token strings) and layer_<LL>.safetensors with
teacher_probs (H,T,T), estimate_compressed (H,T,K), estimate_decompressed (H,T,T), sparse_probs (H,T,T),
kept_mask (H,T,T) and kept_cells (H,T,K).

Keys a query cannot see (j > t in a causal model) are drawn grey in the T×T panels, and so are the keys the
sparse attention dropped in the sparse panel; the cells the top-k kept are outlined in white in the compressed
panel. Every panel has its own colour bar. Token labels go on the axes when T <= --label-max.

Needs numpy, matplotlib and safetensors (scripts/bootstrap.sh installs them).
"""
import argparse
import json
import os
import sys

import numpy as np


def die(msg):
    print(f"render_attention.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def load_dump(directory):
    """The manifest, the token strings, and a function layer -> {name: array}."""
    manifest_path = os.path.join(directory, "attention_map.json")
    tokens_path = os.path.join(directory, "tokens.json")
    for p in (manifest_path, tokens_path):
        if not os.path.isfile(p):
            die(f"'{p}' not found: is '{directory}' an output directory of sea-attention-map?")
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    with open(tokens_path, encoding="utf-8") as f:
        tokens = json.load(f)["tokens"]

    def layer(index):
        name = manifest["files"].get(str(index))
        if name is None:
            die(f"layer {index} was not dumped; '{manifest_path}' has layers {manifest['layers']}")
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            die(f"'{path}' (layer {index}) not found")
        try:
            from safetensors.numpy import load_file
        except ImportError:
            die("the python package 'safetensors' is missing (pip install safetensors, or scripts/bootstrap.sh)")
        return load_file(path)

    return manifest, tokens, layer


def label(token):
    """A token as an axis label: whitespace made visible, long ones shortened."""
    t = token.replace("\n", "\\n").replace("\t", "\\t")
    if t.startswith(" "):
        t = "\u2423" + t[1:]  # open box: the token starts with a space
    t = t if t.strip() else "\u2423" * max(1, len(t))
    return t if len(t) <= 12 else t[:11] + "\u2026"


def short_name(path):
    """A model directory for a title: "<run>/step-N" for a sea-train checkpoint, else its last component."""
    p = path.rstrip("/")
    parent = os.path.dirname(p)
    if os.path.basename(parent) == "checkpoints":
        return f"{os.path.basename(os.path.dirname(parent))}/{os.path.basename(p)}"
    return os.path.basename(p)


def panels(arrays, head, manifest):
    """(title, image, masked, xlabel, outline) for the four panels of one head; outline: a 0/1 map whose
    boundary is drawn (the kept cells of Â) or None."""
    T = arrays["teacher_probs"].shape[-1]
    K = arrays["estimate_compressed"].shape[-1]
    if manifest["causal"]:
        visible = np.tril(np.ones((T, T), dtype=bool))
    else:
        visible = np.ones((T, T), dtype=bool)
    kept = arrays["kept_mask"][head].astype(bool)
    kept_cells = arrays["kept_cells"][head].astype(bool)
    kept_frac = kept.sum() / max(1, visible.sum())
    k = manifest["k"]
    k_text = f"{k:g}" if isinstance(k, (int, float)) else str(k)
    scaled = " × s_prob" if manifest.get("partial_attention_scaler", True) else ""
    return [
        ("teacher (dense softmax)", arrays["teacher_probs"][head], ~visible, "key", None),
        (f"SEA estimate Â, compressed (T×{K})", arrays["estimate_compressed"][head], None,
         "cell (outlined: kept by top-k)", kept_cells),
        ("SEA estimate Â, decompressed (T×T)", arrays["estimate_decompressed"][head], ~visible, "key", None),
        (f"SEA sparse A*{scaled} (k={k_text}, {100 * kept_frac:.0f}% of keys)", arrays["sparse_probs"][head],
         ~kept, "key (grey: dropped)", None),
    ]


def render(directory, layer, heads, out, label_max, dpi, cmap):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    manifest, tokens, load_layer = load_dump(directory)
    arrays = load_layer(layer)
    H, T, _ = arrays["teacher_probs"].shape
    for h in heads:
        if not 0 <= h < H:
            die(f"--head {h} is out of range: layer {layer} has {H} heads (0 .. {H - 1})")
    if len(tokens) != T:
        die(f"tokens.json has {len(tokens)} tokens but layer {layer} has T = {T}")
    labels = [label(t) for t in tokens] if T <= label_max else None

    rows, cols = len(heads), 4
    size = 3.2 + (0.09 * T if labels else 0.0)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size * 1.15, rows * size), squeeze=False)
    colormap = matplotlib.colormaps[cmap].copy()
    colormap.set_bad("#d9d9d9")
    for r, h in enumerate(heads):
        for c, (title, image, masked, xlabel, outline) in enumerate(panels(arrays, h, manifest)):
            ax = axes[r][c]
            data = image if masked is None else np.ma.array(image, mask=masked)
            im = ax.imshow(data, cmap=colormap, aspect="auto", interpolation="nearest")
            if outline is not None and 0 < outline.sum() < outline.size:
                # Boundaries of the kept cells, on an upsampled grid so that the lines follow cell edges.
                up = np.kron(outline.astype(float), np.ones((4, 4)))
                ys = (np.arange(up.shape[0]) + 0.5) / 4 - 0.5
                xs = (np.arange(up.shape[1]) + 0.5) / 4 - 0.5
                ax.contour(xs, ys, up, levels=[0.5], colors="white", linewidths=0.8)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
            ax.set_title(f"head {h}: {title}" if rows > 1 or c == 0 else title, fontsize=9)
            ax.set_xlabel(xlabel, fontsize=8)
            if c == 0:
                ax.set_ylabel("query", fontsize=8)
            if labels:
                ax.set_yticks(range(T))
                ax.set_yticklabels(labels, fontsize=6)
                if image.shape[-1] == T:
                    ax.set_xticks(range(T))
                    ax.set_xticklabels(labels, fontsize=6, rotation=90)
    fig.suptitle(f"layer {layer} — teacher {short_name(manifest['teacher'])} vs SEA student "
                 f"{short_name(manifest['student'])} ({T} tokens, K = {manifest['predictor_length']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="output directory of sea-attention-map")
    ap.add_argument("--layer", type=int, default=None, help="layer to draw (default: the first one dumped)")
    ap.add_argument("--head", type=int, default=0, help="head to draw (default 0)")
    ap.add_argument("--heads", default=None, help="several heads as a grid: 'all' or a list like 0,2,3")
    ap.add_argument("--out", default=None, help="PNG path (default: <dir>/layer<L>_head<h>.png or _heads.png)")
    ap.add_argument("--label-max", type=int, default=48, help="token labels on the axes when T <= this (48)")
    ap.add_argument("--dpi", type=int, default=120)
    ap.add_argument("--cmap", default="viridis")
    args = ap.parse_args()

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        die("the python package 'matplotlib' is missing (pip install matplotlib, or scripts/bootstrap.sh)")
    manifest, _, _ = load_dump(args.dir)
    layer = manifest["layers"][0] if args.layer is None else args.layer
    if args.heads is None:
        heads = [args.head]
    elif args.heads == "all":
        heads = list(range(manifest["num_heads"]))
    else:
        try:
            heads = [int(h) for h in args.heads.split(",") if h.strip()]
        except ValueError:
            die(f"--heads '{args.heads}': expected 'all' or comma-separated head indices")
        if not heads:
            die("--heads is empty")
    out = args.out
    if out is None:
        suffix = f"head{heads[0]}" if len(heads) == 1 else "heads"
        out = os.path.join(args.dir, f"layer{layer}_{suffix}.png")
    print(render(args.dir, layer, heads, out, args.label_max, args.dpi, args.cmap))


if __name__ == "__main__":
    main()
