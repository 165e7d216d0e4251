// unicode.h — the Unicode facts the tokenizers need: UTF-8 decoding/encoding, character classes, canonical
// decomposition (NFD) and lower-casing, with the semantics Hugging Face `tokenizers` uses.
//
// The character database is utf8proc's (a small, well-kept C library, Debian libutf8proc-dev); this file
// only maps the questions the tokenizers ask onto it:
//   * is_whitespace  = `\s` of the GPT-2 pre-tokenizer regex (Oniguruma) = Rust's char::is_whitespace =
//                      the Unicode White_Space property: U+0009..000D, U+0085 and categories Zs, Zl, Zp.
//   * is_letter / is_number / is_punctuation / is_other = general categories L*, N*, P*, C*.
//   * lowercase      = Rust's char::to_lowercase (full mapping, per character, no context: U+0130 is the one
//                      code point that lower-cases to two).
//   * nfd            = canonical decomposition + canonical ordering of combining marks.
#pragma once

#include <string>
#include <string_view>

namespace sea::data::unicode {

// Decodes UTF-8. Throws sea::Error naming `where` and the byte offset of the first malformed sequence
// (overlong forms, surrogates and code points above U+10FFFF are malformed).
std::u32string decode_utf8(std::string_view text, std::string_view where);

// Decodes the code point starting at byte `offset` of `text` into *code_point and returns its length in bytes,
// or 0 if the bytes there are not well-formed UTF-8.
int decode_one_utf8(std::string_view text, size_t offset, char32_t* code_point);

// Throws like decode_utf8 if `text` is not well-formed UTF-8.
void check_utf8(std::string_view text, std::string_view where);

void append_utf8(std::string& out, char32_t code_point);
std::string encode_utf8(std::u32string_view code_points);

bool is_whitespace(char32_t c);
bool is_letter(char32_t c);
bool is_number(char32_t c);
bool is_punctuation(char32_t c);  // general category P* only (BERT adds ASCII symbols itself)
bool is_other(char32_t c);        // Cc, Cf, Cs, Co, Cn
bool is_nonspacing_mark(char32_t c);
// The CJK Unified Ideograph blocks BERT surrounds with spaces (those of the original BERT code).
bool is_cjk_ideograph(char32_t c);

// Appends the full lower-case mapping of `c` to `out`.
void append_lowercase(std::u32string& out, char32_t c);

// Canonical decomposition (NFD) of a code point sequence.
std::u32string nfd(std::u32string_view text);

// The Unicode version of the character database in use (utf8proc's).
const char* database_version();

}  // namespace sea::data::unicode
