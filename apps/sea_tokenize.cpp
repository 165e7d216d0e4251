// sea-tokenize — tokenize text with SEA's tokenizers from the command line; also measures their throughput.
//
//   sea-tokenize --tokenizer opt --text "Hello world"                 # ids, space-separated
//   sea-tokenize --tokenizer bert-base-uncased --text "a" --pair "b" --max-length 16   # model template
//   sea-tokenize --tokenizer opt --file wiki.valid.raw --wikitext     # the reference's Wikitext-2 text
//   sea-tokenize --tokenizer opt --decode "31414 232"
//   sea-tokenize --tokenizer opt --file F --bench 5 [--lines]         # JSON: MB/s (median of 5 runs)
// The data directory (tokenizer files) is --data-dir, else $SEA_DATA_DIR, else ./data.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include "sea/data/data_paths.h"
#include "sea/data/tokenizer.h"
#include "sea/data/unicode.h"
#include "sea/data/wikitext.h"
#include "sea/util/error.h"
#include "sea/util/json_config.h"
#include "sea/util/logging.h"

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sea-tokenize: SEA's byte-level BPE and WordPiece tokenizers"};
  std::string tokenizer_name = "opt", data_dir, text, pair, file, decode, log_level = "warn";
  int64_t max_length = 0, bench = 0;
  bool with_template = false, wikitext = false, per_line = false;
  app.add_option("--tokenizer", tokenizer_name, "preset (opt, gpt2, bert-base-uncased) or spec JSON path");
  app.add_option("--data-dir", data_dir, "data directory holding tokenizers/ (default $SEA_DATA_DIR or ./data)");
  auto* text_opt = app.add_option("--text", text, "text to tokenize");
  auto* file_opt = app.add_option("--file", file, "file to tokenize");
  text_opt->excludes(file_opt);
  app.add_option("--pair", pair, "second sequence (implies --template)");
  app.add_option("--max-length", max_length, "truncate to this many ids (with --template)")->check(CLI::NonNegativeNumber);
  app.add_flag("--template", with_template, "add the model's special tokens and print token types");
  app.add_flag("--wikitext", wikitext, "read --file as the reference reads Wikitext-2 (rows joined by blank lines)");
  app.add_option("--decode", decode, "ids to turn back into text, space-separated");
  app.add_option("--bench", bench, "time N encodings of the input after one warm-up; print JSON")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--lines", per_line, "with --bench: encode each non-empty line separately (sentence workloads)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);

  try {
    sea::init_logging(log_level);
    const auto tok = sea::data::load_tokenizer(tokenizer_name, sea::data::resolve_data_dir(data_dir));
    if (!decode.empty()) {
      std::vector<int32_t> ids;
      std::istringstream in(decode);
      for (std::string item; in >> item;) {
        try {
          ids.push_back(static_cast<int32_t>(std::stol(item)));
        } catch (const std::exception&) {
          sea::fail("--decode: '", item, "' is not an integer id");
        }
      }
      std::cout << tok->decode(ids) << "\n";
      return 0;
    }
    SEA_CHECK(!text.empty() || !file.empty(), "give --text, --file or --decode");
    std::string input = file.empty() ? text : sea::data::read_text_file(file);
    sea::data::unicode::check_utf8(input, file.empty() ? "--text" : file);
    if (wikitext) {
      const auto chunks = sea::data::join_wikitext_rows(sea::data::wikitext_rows(input));
      SEA_CHECK(chunks.size() == 1, "--wikitext: more than 50,000 rows; use sea-train's loader for big files");
      input = chunks.front();
    }

    if (bench > 0) {
      const std::vector<std::string> lines = per_line ? lines_of(input) : std::vector<std::string>{};
      size_t tokens = 0;
      auto run_once = [&] {
        tokens = 0;
        if (per_line) {
          for (const auto& l : lines) tokens += tok->encode(l).size();
        } else {
          tokens = tok->encode(input).size();
        }
      };
      using clock = std::chrono::steady_clock;
      auto t0 = clock::now();
      run_once();  // warm-up (fills the BPE piece cache, as HF's own cache fills on its first call)
      const double cold = std::chrono::duration<double>(clock::now() - t0).count();
      std::vector<double> seconds;
      for (int64_t i = 0; i < bench; ++i) {
        t0 = clock::now();
        run_once();
        seconds.push_back(std::chrono::duration<double>(clock::now() - t0).count());
      }
      std::sort(seconds.begin(), seconds.end());
      const double median = seconds[seconds.size() / 2];
      std::cout << sea::json{{"tokenizer", tok->spec().name},
                             {"bytes", input.size()},
                             {"tokens", tokens},
                             {"mode", per_line ? "lines" : "whole text"},
                             {"lines", lines.size()},
                             {"runs", bench},
                             {"cold_seconds", cold},
                             {"median_seconds", median},
                             {"mb_per_s", static_cast<double>(input.size()) / median / 1e6}}
                       .dump()
                << "\n";
      return 0;
    }

    if (with_template || !pair.empty()) {
      const std::string_view b(pair);
      const auto e = tok->encode_for_model(input, pair.empty() ? nullptr : &b, max_length);
      for (size_t i = 0; i < e.ids.size(); ++i) std::cout << (i ? " " : "") << e.ids[i];
      std::cout << "\n";
      for (size_t i = 0; i < e.type_ids.size(); ++i) std::cout << (i ? " " : "") << e.type_ids[i];
      std::cout << "\n";
    } else {
      const auto ids = tok->encode(input);
      for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
      std::cout << "\n";
    }
  } catch (const sea::Error& e) {
    std::cerr << "sea-tokenize: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
