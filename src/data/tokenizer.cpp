// tokenizer.cpp — tokenizer specs (JSON and the built-in presets), the post-processing template with
// longest-first truncation, and the factory that reads the vocabulary files from the data directory.
#include "sea/data/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "sea/data/byte_level_bpe.h"
#include "sea/data/data_paths.h"
#include "sea/data/unicode.h"
#include "sea/data/wordpiece.h"
#include "sea/util/error.h"
#include "sea/util/hash.h"

namespace sea::data {
namespace {

std::vector<TemplatePiece> parse_template(const std::vector<std::string>& items, const std::string& where) {
  std::vector<TemplatePiece> out;
  for (const std::string& item : items) {
    TemplatePiece piece;
    const size_t colon = item.rfind(':');
    piece.token = item;
    if (colon != std::string::npos && colon > 0 && colon + 1 < item.size() &&
        std::all_of(item.begin() + static_cast<std::ptrdiff_t>(colon) + 1, item.end(),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      piece.token = item.substr(0, colon);
      piece.type_id = std::stoi(item.substr(colon + 1));
    }
    SEA_CHECK(!piece.token.empty(), where, ": empty template item");
    out.push_back(piece);
  }
  return out;
}

std::vector<std::string> template_strings(const std::vector<TemplatePiece>& pieces) {
  std::vector<std::string> out;
  for (const auto& p : pieces) out.push_back(p.token + ":" + std::to_string(p.type_id));
  return out;
}

// The presets reproduce what Hugging Face builds for facebook/opt-*, gpt2 and bert-base-uncased.
const char* preset_json(const std::string& name) {
  if (name == "opt")
    return R"({"type": "byte_level_bpe", "vocab_file": "tokenizers/opt/vocab.json",
               "merges_file": "tokenizers/opt/merges.txt", "special_tokens": ["<pad>", "</s>", "<unk>"],
               "unk_token": "<unk>", "pad_token": "<pad>", "bos_token": "</s>", "eos_token": "</s>",
               "single": ["</s>", "$A"], "pair": ["</s>", "$A", "</s>:1", "$B:1"]})";
  if (name == "gpt2")
    return R"({"type": "byte_level_bpe", "vocab_file": "tokenizers/gpt2/vocab.json",
               "merges_file": "tokenizers/gpt2/merges.txt", "special_tokens": ["<|endoftext|>"],
               "unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
               "single": ["$A"], "pair": ["$A", "$B:1"]})";
  if (name == "bert-base-uncased")
    return R"({"type": "wordpiece", "vocab_file": "tokenizers/bert-base-uncased/vocab.txt",
               "special_tokens": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
               "unk_token": "[UNK]", "pad_token": "[PAD]", "lowercase": true,
               "single": ["[CLS]", "$A", "[SEP]"], "pair": ["[CLS]", "$A", "[SEP]", "$B:1", "[SEP]:1"]})";
  return nullptr;
}

// Truncates two sequences to at most `budget` ids together, as tokenizers' LongestFirst strategy does.
void truncate_longest_first(std::vector<int32_t>& a, std::vector<int32_t>& b, size_t budget) {
  size_t n1 = a.size(), n2 = b.size();
  if (n1 + n2 <= budget) return;
  const bool swap = n1 > n2;  // make n1 the shorter
  if (swap) std::swap(n1, n2);
  n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swap) std::swap(n1, n2);
  a.resize(std::min(a.size(), n1));
  b.resize(std::min(b.size(), n2));
}

}  // namespace

TokenizerSpec TokenizerSpec::from_json(const json& j, const std::string& where) {
  SEA_CHECK(j.is_object(), where, ": a tokenizer spec must be a JSON object");
  JsonReader r(j, where);
  TokenizerSpec s;
  s.name = r.get_or<std::string>("name", where);
  s.type = r.get<std::string>("type");
  SEA_CHECK(s.type == "byte_level_bpe" || s.type == "wordpiece", where, ": type '", s.type,
            "' is not one of byte_level_bpe, wordpiece");
  s.vocab_file = r.get<std::string>("vocab_file");
  s.merges_file = s.type == "byte_level_bpe" ? r.get<std::string>("merges_file") : r.get_or<std::string>("merges_file", "");
  for (const json& t : r.get_or<json>("special_tokens", json::array())) {
    SEA_CHECK(t.is_string(), where, ": special_tokens must be strings");
    s.special_tokens.push_back(t.get<std::string>());
  }
  s.unk_token = r.get_or<std::string>("unk_token", "");
  s.pad_token = r.get_or<std::string>("pad_token", "");
  s.bos_token = r.get_or<std::string>("bos_token", "");
  s.eos_token = r.get_or<std::string>("eos_token", "");
  auto strings = [&](const char* key) {
    std::vector<std::string> out;
    for (const json& t : r.get_or<json>(key, json::array({"$A"}))) {
      SEA_CHECK(t.is_string(), where, ": ", key, " must be a list of strings");
      out.push_back(t.get<std::string>());
    }
    return out;
  };
  s.single = parse_template(strings("single"), where);
  s.pair = parse_template(strings("pair"), where);
  s.lowercase = r.get_or<bool>("lowercase", false);
  s.max_input_chars_per_word = r.get_or<int64_t>("max_input_chars_per_word", 100);
  if (s.type == "wordpiece") SEA_CHECK(!s.unk_token.empty(), where, ": a wordpiece tokenizer needs unk_token");
  r.finish();
  return s;
}

json TokenizerSpec::to_json() const {
  json j = {{"name", name},
            {"type", type},
            {"vocab_file", vocab_file},
            {"special_tokens", special_tokens},
            {"unk_token", unk_token},
            {"pad_token", pad_token},
            {"bos_token", bos_token},
            {"eos_token", eos_token},
            {"single", template_strings(single)},
            {"pair", template_strings(pair)},
            {"lowercase", lowercase},
            {"max_input_chars_per_word", max_input_chars_per_word}};
  if (!merges_file.empty()) j["merges_file"] = merges_file;
  return j;
}

std::vector<std::string> tokenizer_preset_names() { return {"opt", "gpt2", "bert-base-uncased"}; }

TokenizerSpec tokenizer_preset(const std::string& name) {
  const char* text = preset_json(name);
  if (!text) {
    std::string names;
    for (const auto& n : tokenizer_preset_names()) names += (names.empty() ? "" : ", ") + n;
    fail("unknown tokenizer '", name, "': use one of ", names, ", or the path of a tokenizer spec JSON file");
  }
  json j = json::parse(text);
  j["name"] = name;
  return TokenizerSpec::from_json(j, "tokenizer preset '" + name + "'");
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  unicode::check_utf8(text, "tokenizer '" + spec_.name + "' input");
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3);
  for (const TextSegment& segment : special_tokens_.split(text)) {
    if (segment.special_id >= 0) {
      ids.push_back(segment.special_id);
    } else {
      encode_plain(segment.text, ids);
    }
  }
  return ids;
}

void Tokenizer::register_special_tokens(const std::string& vocab_where) {
  std::vector<AddedTokens::Token> specials;
  for (const std::string& t : spec_.special_tokens) {
    auto id = token_to_id(t);
    SEA_CHECK(id.has_value(), "tokenizer '", spec_.name, "': special token '", t, "' is not in ", vocab_where);
    specials.push_back({t, *id});
  }
  special_tokens_ = AddedTokens(std::move(specials));
}

int32_t Tokenizer::special_token_id(const std::string& token, const char* role) const {
  SEA_CHECK(!token.empty(), "tokenizer '", spec_.name, "' has no ", role);
  auto id = token_to_id(token);
  SEA_CHECK(id.has_value(), "tokenizer '", spec_.name, "': ", role, " '", token, "' is not in the vocabulary");
  return *id;
}

Encoding Tokenizer::encode_for_model(std::string_view a, const std::string_view* b, int64_t max_length) const {
  const std::vector<TemplatePiece>& tmpl = b ? spec_.pair : spec_.single;
  std::vector<int32_t> ids_a = encode(a), ids_b;
  if (b) ids_b = encode(*b);
  if (max_length > 0) {
    const auto added = static_cast<int64_t>(std::count_if(
        tmpl.begin(), tmpl.end(), [](const TemplatePiece& p) { return p.token != "$A" && p.token != "$B"; }));
    SEA_CHECK(max_length > added, "tokenizer '", spec_.name, "': max_length ", max_length,
              " leaves no room for text after the ", added, " special tokens of the template");
    const auto budget = static_cast<size_t>(max_length - added);
    if (b) {
      truncate_longest_first(ids_a, ids_b, budget);
    } else if (ids_a.size() > budget) {
      ids_a.resize(budget);
    }
  }
  Encoding e;
  for (const TemplatePiece& p : tmpl) {
    const std::vector<int32_t>* seq = p.token == "$A" ? &ids_a : p.token == "$B" ? &ids_b : nullptr;
    if (seq) {
      e.ids.insert(e.ids.end(), seq->begin(), seq->end());
      e.type_ids.insert(e.type_ids.end(), seq->size(), p.type_id);
    } else {
      e.ids.push_back(special_token_id(p.token, "template token"));
      e.type_ids.push_back(p.type_id);
    }
  }
  return e;
}

std::shared_ptr<const Tokenizer> make_tokenizer(const TokenizerSpec& spec, const std::string& data_dir) {
  const std::string what = "tokenizer '" + spec.name + "'";
  const std::string vocab_path = require_data_file(data_dir, spec.vocab_file, what + " vocabulary");
  const std::string vocab = read_text_file(vocab_path);
  Fnv1a64 hash;
  hash.field(spec.to_json().dump()).field(vocab);
  if (spec.type == "byte_level_bpe") {
    const std::string merges_path = require_data_file(data_dir, spec.merges_file, what + " merges");
    const std::string merges = read_text_file(merges_path);
    hash.field(merges);
    return std::make_shared<ByteLevelBpeTokenizer>(spec, vocab, merges, vocab_path, merges_path, hash.value());
  }
  return std::make_shared<WordPieceTokenizer>(spec, vocab, vocab_path, hash.value());
}

std::shared_ptr<const Tokenizer> load_tokenizer(const std::string& name_or_path, const std::string& data_dir) {
  const auto presets = tokenizer_preset_names();
  if (std::find(presets.begin(), presets.end(), name_or_path) != presets.end()) {
    return make_tokenizer(tokenizer_preset(name_or_path), data_dir);
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(name_or_path, ec)) tokenizer_preset(name_or_path);  // throws, listing presets
  json j = read_json_file(name_or_path);
  if (!j.contains("name")) j["name"] = name_or_path;
  return make_tokenizer(TokenizerSpec::from_json(j, name_or_path), data_dir);
}

}  // namespace sea::data
