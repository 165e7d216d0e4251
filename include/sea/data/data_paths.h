// data_paths.h — where SEA looks for data, and the one error a user sees when something is not there.
//
// The data directory holds the layout of the shared mirror (see scripts/get_data.sh and docs/DATA.md):
//   tokenizers/{opt,gpt2,bert-base-uncased}/   vocab.json + merges.txt, or vocab.txt
//   wikitext-2-raw/wiki.{train,valid,test}.raw  raw Wikitext-2 (train may be absent)
//   wikitext-2/{train,valid,test}.txt          tokenized Wikitext-2 (rare words as <unk>)
//   glue/<TASK>/{train,dev,test}.tsv           GLUE in the layout of download_glue_data.py
// It is chosen by, in order: the config's data.dir, the environment variable SEA_DATA_DIR, ./data.
#pragma once

#include <string>

namespace sea::data {

// The data directory to use: `configured` if not empty, else $SEA_DATA_DIR, else "data" (relative to the
// working directory). The directory is not required to exist here; require_data_file reports that.
std::string resolve_data_dir(const std::string& configured = "");

// `relative` resolved against `data_dir` (an absolute `relative` is used as is). If the file does not exist,
// throws sea::Error saying what was wanted (`what`, e.g. "Wikitext-2 valid split"), the full path looked
// at, how the data directory was chosen, and how to fill it (scripts/get_data.sh).
std::string require_data_file(const std::string& data_dir, const std::string& relative, const std::string& what);

// Same resolution, without the existence check.
std::string data_file_path(const std::string& data_dir, const std::string& relative);

bool data_file_exists(const std::string& data_dir, const std::string& relative);

// Reads a whole file into memory; sea::Error names the file if it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace sea::data
