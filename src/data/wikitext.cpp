// wikitext.cpp — row splitting and joining as the reference, split files and fallbacks, cached tokenization.
#include "sea/data/wikitext.h"

#include <cctype>
#include <filesystem>

#include "sea/data/data_paths.h"
#include "sea/data/unicode.h"
#include "sea/util/error.h"
#include "sea/util/hash.h"
#include "sea/util/logging.h"

namespace sea::data {
namespace {

// Python's str.isspace(): Unicode whitespace plus the information separators U+001C..U+001F.
bool python_isspace(char32_t c) { return unicode::is_whitespace(c) || (c >= 0x1C && c <= 0x1F); }

bool is_blank(std::string_view line) {
  char32_t cp = 0;
  for (size_t i = 0; i < line.size();) {
    const int len = unicode::decode_one_utf8(line, i, &cp);
    if (len == 0 || !python_isspace(cp)) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

// Bumped whenever the way a file becomes text or ids changes, so old cache entries stop matching.
constexpr const char* kLoaderVersion = "wikitext-rows-join-v1";

}  // namespace

std::vector<std::string> wikitext_rows(std::string_view text) {
  std::vector<std::string> rows;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of("\r\n", start);
    std::string row;
    size_t next;
    if (end == std::string_view::npos) {
      row.assign(text.substr(start));
      next = text.size();
    } else {
      row.assign(text.substr(start, end - start));
      row.push_back('\n');
      next = end + ((text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ? 2 : 1);
    }
    rows.push_back(is_blank(row) ? std::string() : std::move(row));
    start = next;
  }
  return rows;
}

std::vector<std::string> join_wikitext_rows(const std::vector<std::string>& rows, size_t chunk_rows) {
  SEA_CHECK(chunk_rows > 0, "join_wikitext_rows: chunk_rows must be positive");
  std::vector<std::string> chunks;
  for (size_t begin = 0; begin < rows.size(); begin += chunk_rows) {
    const size_t end = std::min(rows.size(), begin + chunk_rows);
    size_t bytes = 0;
    for (size_t i = begin; i < end; ++i) bytes += rows[i].size() + 2;
    std::string chunk;
    chunk.reserve(bytes);
    for (size_t i = begin; i < end; ++i) {
      if (i > begin) chunk += "\n\n";
      chunk += rows[i];
    }
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

std::string wikitext_file(const std::string& split, const std::string& variant) {
  SEA_CHECK(split == "train" || split == "valid" || split == "test", "Wikitext-2 split '", split,
            "' is not one of train, valid, test");
  SEA_CHECK(variant == "raw" || variant == "tokenized", "Wikitext-2 variant '", variant,
            "' is not one of raw, tokenized");
  return variant == "raw" ? "wikitext-2-raw/wiki." + split + ".raw" : "wikitext-2/" + split + ".txt";
}

LmTextSource resolve_lm_text(const std::string& data_dir, const std::string& split, const std::string& variant,
                             const std::string& train_file) {
  if (split == "train" && !train_file.empty()) {
    std::error_code ec;
    SEA_CHECK(std::filesystem::is_regular_file(train_file, ec), "data.train_file: ", train_file,
              " does not exist (or is not a file)");
    log().warn("training on {} (data.train_file) instead of Wikitext-2 train", train_file);
    return {train_file, "file " + train_file, true};
  }
  const std::string wanted = wikitext_file(split, variant);
  if (split == "train" && variant == "raw" && !data_file_exists(data_dir, wanted) &&
      data_file_exists(data_dir, wikitext_file("train", "tokenized"))) {
    const std::string fallback = wikitext_file("train", "tokenized");
    log().warn("{} is missing: training on {} instead (same articles, rare words as <unk>; the evaluation "
               "splits stay raw). Put wiki.train.raw there, or set data.train_file, to change this.",
               data_file_path(data_dir, wanted), data_file_path(data_dir, fallback));
    return {data_file_path(data_dir, fallback), "wikitext-2 (tokenized) train", true};
  }
  const std::string label = std::string(variant == "raw" ? "wikitext-2-raw " : "wikitext-2 (tokenized) ") + split;
  return {require_data_file(data_dir, wanted, "Wikitext-2 " + split + " split (" + variant + ")"), label, false};
}

std::vector<int32_t> load_token_stream(const std::string& path, const Tokenizer& tokenizer, const TokenCache& cache) {
  const std::string text = read_text_file(path);
  Fnv1a64 key;
  key.field(kLoaderVersion).field(hex64(tokenizer.fingerprint())).field(text);
  std::string stem = std::filesystem::path(path).filename().string() + "." + tokenizer.spec().name;
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  return cache.get_or_compute(stem, key.value(), [&] {
    unicode::check_utf8(text, path);  // name the file, not just "tokenizer input", in the error
    std::vector<int32_t> ids;
    for (const std::string& chunk : join_wikitext_rows(wikitext_rows(text))) {
      std::vector<int32_t> part = tokenizer.encode(chunk);
      ids.insert(ids.end(), part.begin(), part.end());
    }
    log().info("tokenized {}: {} bytes -> {} tokens ({})", path, text.size(), ids.size(), tokenizer.spec().name);
    return ids;
  });
}

}  // namespace sea::data
