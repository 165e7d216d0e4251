// added_tokens.h — special tokens written literally in the text ("</s>", "[SEP]", "<unk>") become their ids
// before any normalisation or pre-tokenisation, as in Hugging Face `tokenizers` (added tokens with
// normalized=false, matched leftmost-longest on the raw text). Both tokenizers run this first and tokenize
// only the plain segments in between.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sea::data {

struct TextSegment {
  std::string_view text;  // the segment's bytes (a view into the input)
  int32_t special_id;     // id of the special token this segment is, or -1 for plain text
};

class AddedTokens {
 public:
  struct Token {
    std::string content;
    int32_t id;
  };

  AddedTokens() = default;
  explicit AddedTokens(std::vector<Token> tokens);

  // Splits `text` into plain and special segments, in order; empty plain segments are omitted.
  std::vector<TextSegment> split(std::string_view text) const;

  bool is_special(int32_t id) const;
  const std::vector<Token>& tokens() const { return tokens_; }

 private:
  std::vector<Token> tokens_;  // longest content first, so the first match at a position is the longest
  bool first_byte_[256] = {};  // quick reject: can a token start with this byte?
};

}  // namespace sea::data
