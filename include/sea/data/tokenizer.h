// tokenizer.h — the tokenizer interface shared by byte-level BPE (OPT, GPT-2) and WordPiece (BERT), the
// spec that configures one, and the post-processing template (special tokens around one or two sequences,
// token types, truncation).
//
//   auto tok = load_tokenizer("opt", data_dir);                 // preset, files under data_dir/tokenizers/opt
//   std::vector<int32_t> ids = tok->encode(text);              // no template tokens added
//   Encoding e = tok->encode_for_model(a, &b, 256);            // [CLS] a [SEP] b [SEP], truncated to 256
//
// Token ids equal Hugging Face `tokenizers` on the same files and settings (tests/data/test_tokenizer_parity).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sea/data/added_tokens.h"
#include "sea/util/json_config.h"

namespace sea::data {

// One item of a post-processing template: "$A" / "$B" (the sequences) or a special token, with its type id.
struct TemplatePiece {
  std::string token;
  int32_t type_id = 0;
};

struct TokenizerSpec {
  std::string name;                         // preset name or spec file, for messages and cache keys
  std::string type;                         // "byte_level_bpe" or "wordpiece"
  std::string vocab_file;                   // relative to the data directory (or absolute)
  std::string merges_file;                  // byte_level_bpe only
  std::vector<std::string> special_tokens;  // matched literally in text; their ids come from the vocab
  std::string unk_token, pad_token, bos_token, eos_token;  // "" where the tokenizer has none
  std::vector<TemplatePiece> single, pair;  // templates for one and two sequences
  bool lowercase = false;                   // wordpiece: BERT normaliser's lowercase (+ accent stripping)
  int64_t max_input_chars_per_word = 100;   // wordpiece: longer words become unk

  // Strict: unknown keys and wrong types are errors naming `where`.
  static TokenizerSpec from_json(const json& j, const std::string& where);
  json to_json() const;
};

// Names of the built-in specs: "opt", "gpt2", "bert-base-uncased".
std::vector<std::string> tokenizer_preset_names();
TokenizerSpec tokenizer_preset(const std::string& name);

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `text`, without template tokens. Special-token strings inside the text become their ids
  // (split out first, on the raw text); the plain text between them goes to the model (encode_plain).
  // Throws sea::Error for text that is not valid UTF-8.
  std::vector<int32_t> encode(std::string_view text) const;

  // The text of `ids` (byte-level BPE round-trips exactly; WordPiece joins word pieces).
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const = 0;

  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;

  // Number of ids in the vocabulary file (the model's embedding may be larger: OPT pads 50265 to 50272).
  virtual int64_t vocab_size() const = 0;

  // The spec's template applied to one sequence (b == nullptr) or a pair, after truncating the sequences so
  // that the result has at most max_length ids (0: no limit). Pairs are truncated longest-first exactly as
  // Hugging Face `tokenizers` does (TruncationStrategy::LongestFirst, right side).
  Encoding encode_for_model(std::string_view a, const std::string_view* b = nullptr, int64_t max_length = 0) const;

  // Id of a special token named in the spec ("" -> error naming the role).
  int32_t special_token_id(const std::string& token, const char* role) const;
  int32_t pad_id() const { return special_token_id(spec_.pad_token, "pad_token"); }

  const TokenizerSpec& spec() const { return spec_; }

  // Changes whenever the spec or the content of a vocabulary file changes; token caches are keyed on it.
  uint64_t fingerprint() const { return fingerprint_; }

 protected:
  Tokenizer(TokenizerSpec spec, uint64_t fingerprint) : spec_(std::move(spec)), fingerprint_(fingerprint) {}

  // Appends the ids of a stretch of valid UTF-8 text that holds no special token.
  virtual void encode_plain(std::string_view text, std::vector<int32_t>& out) const = 0;

  // Looks up the spec's special tokens in the vocabulary (sea::Error naming `vocab_where` if one is missing).
  // Derived constructors call it once their vocabulary is loaded.
  void register_special_tokens(const std::string& vocab_where);
  bool is_special(int32_t id) const { return special_tokens_.is_special(id); }

 private:
  TokenizerSpec spec_;
  uint64_t fingerprint_;
  AddedTokens special_tokens_;
};

// Builds the tokenizer `name_or_path` names: a preset name, or a path to a spec JSON file. Vocabulary files
// are looked up under `data_dir` (errors say where and how to get them).
std::shared_ptr<const Tokenizer> load_tokenizer(const std::string& name_or_path, const std::string& data_dir);
std::shared_ptr<const Tokenizer> make_tokenizer(const TokenizerSpec& spec, const std::string& data_dir);

}  // namespace sea::data
