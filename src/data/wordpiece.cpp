// wordpiece.cpp — vocab.txt loading and greedy longest-match WordPiece.
#include "sea/data/wordpiece.h"

#include "sea/data/bert_text_normalizer.h"
#include "sea/data/unicode.h"
#include "sea/util/error.h"

namespace sea::data {

WordPieceTokenizer::WordPieceTokenizer(TokenizerSpec spec, const std::string& vocab_txt,
                                       const std::string& vocab_where, uint64_t fingerprint)
    : Tokenizer(std::move(spec), fingerprint) {
  size_t start = 0;
  while (start < vocab_txt.size()) {
    size_t end = vocab_txt.find('\n', start);
    if (end == std::string::npos) end = vocab_txt.size();
    std::string token = vocab_txt.substr(start, end - start);
    start = end + 1;
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) token.pop_back();
    const auto id = static_cast<int32_t>(id_to_token_.size());
    token_to_id_.emplace(token, id);  // the first occurrence wins, as in HF's reader
    id_to_token_.push_back(std::move(token));
  }
  SEA_CHECK(!id_to_token_.empty(), vocab_where, ": empty vocabulary");
  unk_id_ = special_token_id(this->spec().unk_token, "unk_token");
  register_special_tokens(vocab_where);
}

std::optional<int32_t> WordPieceTokenizer::token_to_id(std::string_view token) const {
  auto it = token_to_id_.find(std::string(token));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

void WordPieceTokenizer::encode_word(std::u32string_view word, std::vector<int32_t>& out) const {
  if (static_cast<int64_t>(word.size()) > spec().max_input_chars_per_word) {
    out.push_back(unk_id_);
    return;
  }
  const size_t before = out.size();
  std::string candidate;
  for (size_t start = 0; start < word.size();) {
    int32_t found = -1;
    size_t found_end = start;
    for (size_t end = word.size(); end > start; --end) {
      candidate = start > 0 ? "##" : "";
      candidate += unicode::encode_utf8(word.substr(start, end - start));
      auto it = token_to_id_.find(candidate);
      if (it != token_to_id_.end()) {
        found = it->second;
        found_end = end;
        break;
      }
    }
    if (found < 0) {
      out.resize(before);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(found);
    start = found_end;
  }
}

void WordPieceTokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  const std::u32string normalized =
      bert_normalize(text, spec().lowercase, spec().lowercase, "tokenizer '" + spec().name + "' input");
  for (std::u32string_view word : bert_split_words(normalized)) encode_word(word, out);
}

std::string WordPieceTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string out;
  for (int32_t id : ids) {
    SEA_CHECK(id >= 0 && id < vocab_size(), "tokenizer '", spec().name, "': cannot decode id ", id,
              ", vocabulary has ", vocab_size(), " ids");
    if (skip_special_tokens && is_special(id)) continue;
    const std::string& token = id_to_token_[static_cast<size_t>(id)];
    if (token.rfind("##", 0) == 0) {
      out += token.substr(2);
    } else {
      if (!out.empty()) out += ' ';
      out += token;
    }
  }
  return out;
}

}  // namespace sea::data
