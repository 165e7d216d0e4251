// bert_text_normalizer.cpp — see bert_text_normalizer.h for the rules; the order of the steps is BERT's.
#include "sea/data/bert_text_normalizer.h"

#include "sea/data/unicode.h"

namespace sea::data {
namespace {

bool is_bert_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return c >= 0x80 && unicode::is_punctuation(c);
}

bool is_control(char32_t c) {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  return unicode::is_other(c);
}

}  // namespace

std::u32string bert_normalize(std::string_view text, bool lowercase, bool strip_accents, std::string_view where) {
  const std::u32string input = unicode::decode_utf8(text, where);
  std::u32string cleaned;
  cleaned.reserve(input.size());
  bool ascii = true;
  for (char32_t c : input) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (unicode::is_whitespace(c)) {
      cleaned.push_back(U' ');
    } else if (unicode::is_cjk_ideograph(c)) {
      cleaned.push_back(U' ');
      cleaned.push_back(c);
      cleaned.push_back(U' ');
    } else {
      cleaned.push_back(c);
    }
    ascii = ascii && c < 0x80;
  }
  if (strip_accents && !ascii) {
    const std::u32string decomposed = unicode::nfd(cleaned);
    cleaned.clear();
    for (char32_t c : decomposed) {
      if (!unicode::is_nonspacing_mark(c)) cleaned.push_back(c);
    }
  }
  if (!lowercase) return cleaned;
  std::u32string lowered;
  lowered.reserve(cleaned.size());
  for (char32_t c : cleaned) unicode::append_lowercase(lowered, c);
  return lowered;
}

std::vector<std::u32string_view> bert_split_words(std::u32string_view text) {
  std::vector<std::u32string_view> words;
  size_t start = 0;
  auto flush = [&](size_t end) {
    if (end > start) words.push_back(text.substr(start, end - start));
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (unicode::is_whitespace(c)) {
      flush(i);
      start = i + 1;
    } else if (is_bert_punctuation(c)) {
      flush(i);
      words.push_back(text.substr(i, 1));
      start = i + 1;
    }
  }
  flush(text.size());
  return words;
}

}  // namespace sea::data
