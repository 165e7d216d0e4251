// wordpiece.h — BERT's WordPiece tokenizer (vocab.txt, one token per line, id = line number).
//
// Pipeline, as Hugging Face `tokenizers` for bert-base-uncased: special-token strings are split out of the
// raw text (added_tokens.h); each plain segment is normalised and split into words
// (bert_text_normalizer.h); each word becomes the greedy longest-match sequence of vocabulary pieces, the
// pieces after the first prefixed with "##". A word with no such cover, or longer than
// max_input_chars_per_word characters, becomes the unk token as a whole.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "sea/data/tokenizer.h"

namespace sea::data {

class WordPieceTokenizer final : public Tokenizer {
 public:
  // vocab_txt: file contents; `vocab_where` names the file in errors.
  WordPieceTokenizer(TokenizerSpec spec, const std::string& vocab_txt, const std::string& vocab_where,
                     uint64_t fingerprint);

  // Pieces joined with spaces, "##" continuations glued to the piece before (HF's WordPiece decoder).
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_to_token_.size()); }

 private:
  void encode_plain(std::string_view text, std::vector<int32_t>& out) const override;
  void encode_word(std::u32string_view word, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> token_to_id_;
  std::vector<std::string> id_to_token_;
  int32_t unk_id_ = -1;
};

}  // namespace sea::data
