// bert_text_normalizer.h — BERT's "basic tokenisation": the text normaliser and the word splitter that run
// before WordPiece, with the semantics of Hugging Face `tokenizers` BertNormalizer + BertPreTokenizer:
//   clean text       drop U+0000, U+FFFD and control/format characters (category C*, except \t \n \r);
//                    every whitespace character becomes ' '
//   CJK characters   surrounded by spaces, so each ideograph is a word
//   strip accents    NFD, then drop non-spacing marks (Mn)            (on when lowercasing, as in BERT uncased)
//   lowercase        per character, full mapping
//   split            on whitespace (dropped) and around each punctuation character (kept as its own word);
//                    punctuation = general category P* or any ASCII symbol !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sea::data {

// Normalises UTF-8 text (invalid UTF-8 -> sea::Error naming `where`); returns code points.
std::u32string bert_normalize(std::string_view text, bool lowercase, bool strip_accents, std::string_view where);

// Splits normalised text into words (each a view into `text`).
std::vector<std::u32string_view> bert_split_words(std::u32string_view text);

}  // namespace sea::data
