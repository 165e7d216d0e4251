// byte_level_bpe.cpp — GPT-2 pre-tokenizer scanner, vocab/merges loading, BPE merging with a piece cache.
#include "sea/data/byte_level_bpe.h"

#include <climits>

#include "sea/data/unicode.h"
#include "sea/util/error.h"

namespace sea::data {
namespace {

enum class CharClass : uint8_t { kSpace, kLetter, kNumber, kOther };

CharClass classify(char32_t c) {
  if (unicode::is_whitespace(c)) return CharClass::kSpace;
  if (unicode::is_letter(c)) return CharClass::kLetter;
  if (unicode::is_number(c)) return CharClass::kNumber;
  return CharClass::kOther;
}

// The text as code points with their byte offsets and classes (offsets has one extra entry: the end).
struct ScannedText {
  std::vector<char32_t> cps;
  std::vector<CharClass> classes;
  std::vector<size_t> offsets;
};

ScannedText scan(std::string_view text) {
  ScannedText s;
  s.cps.reserve(text.size());
  s.classes.reserve(text.size());
  s.offsets.reserve(text.size() + 1);
  char32_t cp = 0;
  for (size_t i = 0; i < text.size();) {
    const int len = unicode::decode_one_utf8(text, i, &cp);
    SEA_CHECK(len > 0, "pretokenize_gpt2: invalid UTF-8 at byte offset ", i);
    s.cps.push_back(cp);
    s.classes.push_back(classify(cp));
    s.offsets.push_back(i);
    i += static_cast<size_t>(len);
  }
  s.offsets.push_back(text.size());
  return s;
}

// Length (in code points) of a contraction 's 't 're 've 'm 'll 'd starting at i, or 0.
size_t contraction_at(const std::vector<char32_t>& c, size_t i) {
  const size_t n = c.size();
  if (c[i] != U'\'' || i + 1 >= n) return 0;
  const char32_t a = c[i + 1];
  if (a == U's' || a == U't' || a == U'm' || a == U'd') return 2;
  if (i + 2 < n) {
    const char32_t b = c[i + 2];
    if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) return 3;
  }
  return 0;
}

}  // namespace

std::vector<std::string_view> pretokenize_gpt2(std::string_view text) {
  const ScannedText s = scan(text);
  const size_t n = s.cps.size();
  std::vector<std::string_view> pieces;
  auto run_end = [&](size_t from, CharClass k) {
    while (from < n && s.classes[from] == k) ++from;
    return from;
  };
  auto emit = [&](size_t begin, size_t end) {
    pieces.push_back(text.substr(s.offsets[begin], s.offsets[end] - s.offsets[begin]));
  };
  for (size_t i = 0; i < n;) {
    size_t end;
    if (const size_t len = contraction_at(s.cps, i)) {  // 's|'t|'re|'ve|'m|'ll|'d
      end = i + len;
    } else if (s.classes[i] != CharClass::kSpace) {  // \p{L}+ | \p{N}+ | [^\s\p{L}\p{N}]+
      end = run_end(i, s.classes[i]);
    } else if (s.cps[i] == U' ' && i + 1 < n && s.classes[i + 1] != CharClass::kSpace) {  // " ?" + a run
      end = run_end(i + 1, s.classes[i + 1]);
    } else {  // \s+(?!\S) | \s+ : leave the last space of a run to the word after it
      end = run_end(i, CharClass::kSpace);
      if (end < n && end - i >= 2) --end;
    }
    emit(i, end);
    i = end;
  }
  return pieces;
}

char32_t byte_to_unicode(unsigned char b) {
  // Printable Latin-1 bytes map to themselves; the other 68 bytes map, in order, to U+0100, U+0101, ...
  auto printable = [](unsigned v) { return (v >= 0x21 && v <= 0x7E) || (v >= 0xA1 && v <= 0xAC) || v >= 0xAE; };
  if (printable(b)) return b;
  char32_t next = 0x100;
  for (unsigned v = 0; v < b; ++v) {
    if (!printable(v)) ++next;
  }
  return next;
}

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(TokenizerSpec spec, const std::string& vocab_json,
                                             const std::string& merges_txt, const std::string& vocab_where,
                                             const std::string& merges_where, uint64_t fingerprint)
    : Tokenizer(std::move(spec), fingerprint) {
  // The inverse of byte_to_unicode, for converting vocab keys to raw bytes.
  std::unordered_map<char32_t, unsigned char> unicode_to_byte;
  for (unsigned b = 0; b < 256; ++b) unicode_to_byte[byte_to_unicode(static_cast<unsigned char>(b))] = static_cast<unsigned char>(b);

  json vocab;
  try {
    vocab = json::parse(vocab_json);
  } catch (const json::exception& e) {
    fail(vocab_where, ": not valid JSON: ", e.what());
  }
  SEA_CHECK(vocab.is_object() && !vocab.empty(), vocab_where, ": expected a JSON object {token: id}");
  std::unordered_map<std::string, int32_t> bytes_to_id;  // to find the single-byte tokens below
  id_to_bytes_.assign(vocab.size(), std::string());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [key, value] : vocab.items()) {
    SEA_CHECK(value.is_number_integer(), vocab_where, ": id of token '", key, "' is not an integer");
    const int64_t id = value.get<int64_t>();
    SEA_CHECK(id >= 0 && id < static_cast<int64_t>(vocab.size()), vocab_where, ": id ", id, " of token '", key,
              "' is outside [0, ", vocab.size(), "): ids must be dense");
    SEA_CHECK(!seen[static_cast<size_t>(id)], vocab_where, ": id ", id, " is used twice (token '", key, "')");
    seen[static_cast<size_t>(id)] = true;
    // Raw bytes of the token; a key outside the byte alphabet (an added token) stands for its own UTF-8.
    std::string bytes;
    bool in_alphabet = true;
    for (char32_t c : unicode::decode_utf8(key, vocab_where)) {
      auto it = unicode_to_byte.find(c);
      if (it == unicode_to_byte.end()) {
        in_alphabet = false;
        break;
      }
      bytes.push_back(static_cast<char>(it->second));
    }
    if (!in_alphabet) bytes = key;
    vocab_key_to_id_[key] = static_cast<int32_t>(id);
    bytes_to_id.emplace(bytes, static_cast<int32_t>(id));
    id_to_bytes_[static_cast<size_t>(id)] = std::move(bytes);
  }
  for (unsigned b = 0; b < 256; ++b) {
    auto it = bytes_to_id.find(std::string(1, static_cast<char>(b)));
    SEA_CHECK(it != bytes_to_id.end(), vocab_where, ": no token for byte 0x", std::hex, b,
              " (a byte-level vocabulary has all 256)");
    byte_id_[b] = it->second;
  }

  size_t line_start = 0;
  int32_t rank = 0;
  for (int64_t line_no = 1; line_start < merges_txt.size(); ++line_no) {
    size_t line_end = merges_txt.find('\n', line_start);
    if (line_end == std::string::npos) line_end = merges_txt.size();
    std::string_view line(merges_txt.data() + line_start, line_end - line_start);
    line_start = line_end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t space = line.find(' ');
    SEA_CHECK(space != std::string_view::npos && space > 0 && space + 1 < line.size() &&
                  line.find(' ', space + 1) == std::string_view::npos,
              merges_where, ":", line_no, ": expected two tokens separated by one space, got '", line, "'");
    const std::string left(line.substr(0, space)), right(line.substr(space + 1));
    auto id_of = [&](const std::string& key) {
      auto it = vocab_key_to_id_.find(key);
      SEA_CHECK(it != vocab_key_to_id_.end(), merges_where, ":", line_no, ": token '", key,
                "' is not in the vocabulary (", vocab_where, ")");
      return it->second;
    };
    const int32_t l = id_of(left), r = id_of(right), m = id_of(left + right);
    merges_.emplace((static_cast<uint64_t>(l) << 32) | static_cast<uint32_t>(r), Merge{rank++, m});
  }

  register_special_tokens(vocab_where);
}

std::optional<int32_t> ByteLevelBpeTokenizer::token_to_id(std::string_view token) const {
  auto it = vocab_key_to_id_.find(std::string(token));
  if (it == vocab_key_to_id_.end()) return std::nullopt;
  return it->second;
}

void ByteLevelBpeTokenizer::bpe(std::string_view piece, std::vector<int32_t>& out) const {
  std::vector<int32_t> symbols;
  symbols.reserve(piece.size());
  for (unsigned char b : piece) symbols.push_back(byte_id_[b]);
  // Merge the lowest-ranked adjacent pair, leftmost on ties, until no pair has a merge. Pieces are short
  // (and cached), so the quadratic scan beats a heap.
  while (symbols.size() > 1) {
    int32_t best_rank = INT32_MAX, best_id = -1;
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const uint64_t key = (static_cast<uint64_t>(symbols[i]) << 32) | static_cast<uint32_t>(symbols[i + 1]);
      auto it = merges_.find(key);
      if (it != merges_.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        best_id = it->second.merged_id;
        best_at = i;
      }
    }
    if (best_id < 0) break;
    symbols[best_at] = best_id;
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best_at) + 1);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void ByteLevelBpeTokenizer::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  constexpr size_t kMaxCachedBytes = 64;  // long pieces (runs of '=' etc.) are rare; do not let them bloat
  if (piece.size() > kMaxCachedBytes) return bpe(piece, out);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(std::string(piece));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t before = out.size();
  bpe(piece, out);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.emplace(std::string(piece), std::vector<int32_t>(out.begin() + static_cast<std::ptrdiff_t>(before), out.end()));
}

void ByteLevelBpeTokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  for (std::string_view piece : pretokenize_gpt2(text)) encode_piece(piece, out);
}

std::string ByteLevelBpeTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string out;
  for (int32_t id : ids) {
    SEA_CHECK(id >= 0 && id < vocab_size(), "tokenizer '", spec().name, "': cannot decode id ", id,
              ", vocabulary has ", vocab_size(), " ids");
    if (skip_special_tokens && is_special(id)) continue;
    out += id_to_bytes_[static_cast<size_t>(id)];
  }
  return out;
}

}  // namespace sea::data
