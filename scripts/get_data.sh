#!/usr/bin/env bash
# get_data.sh — fills SEA's data directory with Wikitext-2, GLUE and the tokenizer files.
#
#   scripts/get_data.sh [DEST]                                   # DEST defaults to <repo>/data
#   SEA_DATA_MIRROR=../shared/data scripts/get_data.sh [DEST]   # offline: copy from a local mirror
#
# With SEA_DATA_MIRROR set, the mirror's folders (same layout as DEST) are copied; files already there and
# up to date are skipped, so a second run costs nothing. Without it, the canonical public files are
# downloaded (needs internet): Wikitext-2 (raw and tokenized) from wikitext.smerity.com, GLUE from the
# locations of the standard download_glue_data.py, tokenizer files from the Hugging Face Hub
# (facebook/opt-125m, openai-community/gpt2, google-bert/bert-base-uncased); their sha256 are checked where
# known. Then SEA reads them with data.dir=DEST, or SEA_DATA_DIR=DEST. Layout: docs/DATA.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:-$root/data}
mkdir -p "$dest"
log() { printf '[get_data] %s\n' "$*"; }
FOLDERS=(tokenizers wikitext-2-raw wikitext-2 glue)

if [[ -n "${SEA_DATA_MIRROR:-}" ]]; then
  [[ -d "$SEA_DATA_MIRROR" ]] || { log "SEA_DATA_MIRROR=$SEA_DATA_MIRROR is not a directory"; exit 2; }
  for f in "${FOLDERS[@]}"; do
    if [[ -d "$SEA_DATA_MIRROR/$f" ]]; then
      cp -R -u -p "$SEA_DATA_MIRROR/$f" "$dest/"
    else
      log "mirror has no $f/ (skipped)"
    fi
  done
  log "copied from mirror $SEA_DATA_MIRROR into $dest ($(du -sh "$dest" | cut -f1))"
  exit 0
fi

log "no SEA_DATA_MIRROR: downloading the canonical files into $dest"
python3 - "$dest" <<'PYEOF'
import csv, hashlib, io, os, sys, urllib.request, zipfile

dest = sys.argv[1]
KNOWN_SHA256 = {  # of the files SEA's tests were validated on (see docs/DATA.md)
    "tokenizers/opt/vocab.json": "9e7f63c2d15d666b52e21d250d2e513b87c9b713cfa6987a82ed89e5e6e50655",
    "tokenizers/opt/merges.txt": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    "tokenizers/gpt2/vocab.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "tokenizers/gpt2/merges.txt": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    "tokenizers/bert-base-uncased/vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "wikitext-2-raw/wiki.train.raw": "6707892fa3788b5ab9ed78ab5ff37d9fe825f6011a2ad4fcd6a6d467f0e7da57",
    "wikitext-2-raw/wiki.valid.raw": "4cd0f6876d07a413aa911261ff6d363c72d757d47f0fdd6015702014c89cb9c7",
    "wikitext-2-raw/wiki.test.raw": "173c87a53759e0201f33e0ccf978e510c2042d7f2cb78229d9a50d79b9e7dd08",
    "wikitext-2/train.txt": "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f",
    "wikitext-2/valid.txt": "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
    "wikitext-2/test.txt": "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
}

def fetch(url):
    print(f"[get_data] GET {url}", flush=True)
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()

def write(rel, data):
    path = os.path.join(dest, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    want = KNOWN_SHA256.get(rel)
    got = hashlib.sha256(data).hexdigest()
    if want and got != want:
        print(f"[get_data] WARNING {rel}: sha256 {got} differs from the tested {want}", flush=True)
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)

HUB = "https://huggingface.co/{}/resolve/main/{}"
for name, repo, files in [("opt", "facebook/opt-125m", ["vocab.json", "merges.txt"]),
                          ("gpt2", "openai-community/gpt2", ["vocab.json", "merges.txt"]),
                          ("bert-base-uncased", "google-bert/bert-base-uncased", ["vocab.txt"])]:
    for f in files:
        write(f"tokenizers/{name}/{f}", fetch(HUB.format(repo, f)))

for zip_name, folder, names in [
        ("wikitext-2-raw-v1.zip", "wikitext-2-raw", {"wiki.train.raw": "wiki.train.raw", "wiki.valid.raw": "wiki.valid.raw",
                                                     "wiki.test.raw": "wiki.test.raw"}),
        ("wikitext-2-v1.zip", "wikitext-2", {"wiki.train.tokens": "train.txt", "wiki.valid.tokens": "valid.txt",
                                             "wiki.test.tokens": "test.txt"})]:
    z = zipfile.ZipFile(io.BytesIO(fetch("https://wikitext.smerity.com/" + zip_name)))
    for member in z.namelist():
        base = os.path.basename(member)
        if base in names:
            write(f"{folder}/{names[base]}", z.read(member))

GLUE = "https://dl.fbaipublicfiles.com/glue/data/"
for task, zip_name in [("CoLA", "CoLA.zip"), ("SST-2", "SST-2.zip"), ("STS-B", "STS-B.zip"), ("RTE", "RTE.zip"),
                       ("WNLI", "WNLI.zip"), ("QNLI", "QNLIv2.zip"), ("QQP", "QQP-clean.zip"), ("MNLI", "MNLI.zip")]:
    z = zipfile.ZipFile(io.BytesIO(fetch(GLUE + zip_name)))
    for member in z.namelist():
        parts = member.split("/")
        if member.endswith(".tsv") and len(parts) == 2:  # <TASK>/<split>.tsv; skip original/ sub-folders
            write(f"glue/{task}/{parts[1]}", z.read(member))

# MRPC: the original Microsoft files, split into train/dev with GLUE's dev ids (format_mrpc of the GLUE script).
MRPC = "https://dl.fbaipublicfiles.com/senteval/senteval_data/"
train_txt = fetch(MRPC + "msr_paraphrase_train.txt")
test_txt = fetch(MRPC + "msr_paraphrase_test.txt")
dev_ids_tsv = fetch("https://firebasestorage.googleapis.com/v0/b/mtl-sentence-representations.appspot.com/o/"
                    "data%2Fmrpc_dev_ids.tsv?alt=media&token=ec5c0836-31d5-48f4-b431-7480817f1adc")
write("glue/MRPC/original/msr_paraphrase_train.txt", train_txt)
write("glue/MRPC/original/msr_paraphrase_test.txt", test_txt)
write("glue/MRPC/original/dev_ids.tsv", dev_ids_tsv)
def format_mrpc(train_txt, test_txt, dev_ids_tsv):
    """GLUE's format_mrpc: original rows whose ids are in dev_ids go to dev.tsv, the rest to train.tsv."""
    dev_ids = [row.split("\t") for row in dev_ids_tsv.decode("utf-8").splitlines()]
    lines = train_txt.decode("utf-8").splitlines()
    train, dev = [lines[0]], [lines[0]]
    for row in lines[1:]:
        label, id1, id2, s1, s2 = row.strip().split("\t")
        (dev if [id1, id2] in dev_ids else train).append(f"{label}\t{id1}\t{id2}\t{s1}\t{s2}")
    test = ["index\t#1 ID\t#2 ID\t#1 String\t#2 String"]
    for i, row in enumerate(test_txt.decode("utf-8").splitlines()[1:]):
        label, id1, id2, s1, s2 = row.strip().split("\t")
        test.append(f"{i}\t{id1}\t{id2}\t{s1}\t{s2}")
    return [("\n".join(x) + "\n").encode() for x in (train, dev, test)]

for split, data in zip(["train", "dev", "test"], format_mrpc(train_txt, test_txt, dev_ids_tsv)):
    write(f"glue/MRPC/{split}.tsv", data)
print(f"[get_data] done: {dest}")
PYEOF
