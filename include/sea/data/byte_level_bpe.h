// byte_level_bpe.h — GPT-2's byte-level BPE (used by GPT-2 and, with the RoBERTa/fairseq id order, by OPT).
//
// Pipeline, as Hugging Face `tokenizers` (ByteLevel pre-tokenizer with add_prefix_space=false, BPE model):
//   1. special-token strings are split out of the text (added_tokens.h);
//   2. each plain segment is cut into pieces by GPT-2's pattern
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      (implemented as a scanner, see pretokenize_gpt2);
//   3. each piece's UTF-8 bytes start as one symbol per byte and are merged by merges.txt rank, lowest rank
//      first, leftmost on ties.
// vocab.json keys are in GPT-2's byte-to-unicode alphabet; we convert them to raw bytes once at load, so the
// text is never re-mapped. Decoding concatenates token bytes, so decode(encode(text)) == text.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "sea/data/tokenizer.h"

namespace sea::data {

// Cuts `text` (valid UTF-8) into GPT-2 pre-tokenizer pieces, as byte ranges of `text`.
std::vector<std::string_view> pretokenize_gpt2(std::string_view text);

// GPT-2's reversible map from bytes to printable code points (the alphabet of vocab.json / merges.txt).
char32_t byte_to_unicode(unsigned char b);

class ByteLevelBpeTokenizer final : public Tokenizer {
 public:
  // vocab_json / merges_txt: file contents; `where` names them in errors.
  ByteLevelBpeTokenizer(TokenizerSpec spec, const std::string& vocab_json, const std::string& merges_txt,
                        const std::string& vocab_where, const std::string& merges_where, uint64_t fingerprint);

  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_to_bytes_.size()); }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  void encode_plain(std::string_view text, std::vector<int32_t>& out) const override;
  // Appends the ids of one pre-tokenizer piece.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  void bpe(std::string_view piece, std::vector<int32_t>& out) const;

  std::vector<std::string> id_to_bytes_;  // token as raw bytes
  std::unordered_map<std::string, int32_t> vocab_key_to_id_;  // token as written in vocab.json -> id
  int32_t byte_id_[256];                                      // the single-byte token of each byte
  std::unordered_map<uint64_t, Merge> merges_;                // (left id << 32 | right id) -> merge

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;  // piece bytes -> ids
};

}  // namespace sea::data
