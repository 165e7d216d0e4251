// wikitext.h — Wikitext-2 (or any plain-text file) as one token stream, read exactly as SEA's reference does.
//
// The reference (SEA_SPEC.md §5.1) loads Hugging Face's `wikitext-2-raw-v1`, whose rows are the file's
// lines with their "\n" kept and whitespace-only lines turned into "", joins the rows with "\n\n" in chunks
// of 50,000 rows, tokenizes each chunk without special tokens and concatenates the ids. We do the same on
// the files in the data directory (wikitext_rows / join_wikitext_rows), and cache the ids (token_cache.h).
//
// Splits: "train", "valid", "test". Variants: "raw" (wikitext-2-raw/wiki.<split>.raw, the reference's text)
// and "tokenized" (wikitext-2/<split>.txt: the same articles with rare words as <unk>). The raw train split
// may be missing (see the data README); resolve_lm_text then falls back to the tokenized train split with a
// warning, or uses the plain-text file the user names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sea/data/token_cache.h"
#include "sea/data/tokenizer.h"

namespace sea::data {

// Rows as the Hugging Face `wikitext` builder yields them from `text` (a file's contents): lines split at
// "\n", "\r\n" or "\r" (Python's universal newlines, each ending kept as "\n"), whitespace-only lines as "".
std::vector<std::string> wikitext_rows(std::string_view text);

// The reference's text: rows in chunks of `chunk_rows`, each chunk joined with "\n\n".
std::vector<std::string> join_wikitext_rows(const std::vector<std::string>& rows, size_t chunk_rows = 50000);

// The data-directory-relative file of a Wikitext-2 split ("train"|"valid"|"test") in a variant ("raw"|"tokenized").
std::string wikitext_file(const std::string& split, const std::string& variant);

struct LmTextSource {
  std::string path;         // the file that will be read
  std::string description;  // for logs and results, e.g. "wikitext-2-raw valid"
  bool is_fallback = false;  // true when the requested split was missing and another file stands in
};

// Where the text of `split` comes from. `train_file` (may be empty) overrides the train split with any
// plain-text file. Missing raw train -> the tokenized train split, with a warning that says so. Anything
// else missing -> sea::Error from require_data_file (where we looked, how to get the data).
LmTextSource resolve_lm_text(const std::string& data_dir, const std::string& split, const std::string& variant,
                             const std::string& train_file = "");

// The token stream of a text file, read and joined as above, tokenized chunk by chunk, cached in `cache`.
std::vector<int32_t> load_token_stream(const std::string& path, const Tokenizer& tokenizer, const TokenCache& cache);

}  // namespace sea::data
