// added_tokens.cpp — leftmost-longest matching of the few special-token strings (a linear scan with a
// first-byte filter; there are at most a handful of special tokens, so no automaton is needed).
#include "sea/data/added_tokens.h"

#include <algorithm>

#include "sea/util/error.h"

namespace sea::data {

AddedTokens::AddedTokens(std::vector<Token> tokens) : tokens_(std::move(tokens)) {
  for (const Token& t : tokens_) {
    SEA_CHECK(!t.content.empty(), "special token with id ", t.id, " has empty text");
    first_byte_[static_cast<unsigned char>(t.content[0])] = true;
  }
  std::stable_sort(tokens_.begin(), tokens_.end(),
                   [](const Token& a, const Token& b) { return a.content.size() > b.content.size(); });
}

std::vector<TextSegment> AddedTokens::split(std::string_view text) const {
  std::vector<TextSegment> out;
  size_t plain_start = 0;
  for (size_t i = 0; i < text.size();) {
    const Token* match = nullptr;
    if (first_byte_[static_cast<unsigned char>(text[i])]) {
      for (const Token& t : tokens_) {
        if (text.compare(i, t.content.size(), t.content) == 0) {
          match = &t;
          break;
        }
      }
    }
    if (!match) {
      ++i;
      continue;
    }
    if (i > plain_start) out.push_back({text.substr(plain_start, i - plain_start), -1});
    out.push_back({text.substr(i, match->content.size()), match->id});
    i += match->content.size();
    plain_start = i;
  }
  if (plain_start < text.size()) out.push_back({text.substr(plain_start), -1});
  return out;
}

bool AddedTokens::is_special(int32_t id) const {
  return std::any_of(tokens_.begin(), tokens_.end(), [id](const Token& t) { return t.id == id; });
}

}  // namespace sea::data
