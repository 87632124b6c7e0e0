// check_mmllm_run_mm — runs the built mmllm-run on a synthetic/mm fixture (an image fixture)
// and checks its JSON output against the peer's record: the chunk layout (text token ids,
// media token counts and positions) and the greedy tokens (generation_f32path); then runs it
// again with --embd-out and feeds that file back with --image-embeds, which must give the same
// tokens and layout. Registered by examples/CMakeLists.txt and examples/meson.build.
//
//   check_mmllm_run_mm PATH/TO/mmllm-run FIXTURES_DIR FIXTURE [WORK_DIR]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

/// Runs `cmd`; its stdout (nullopt-like empty json on failure).
nlohmann::json run_json(const std::string& cmd) {
  std::printf("$ %s\n", cmd.c_str());
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {};
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int rc = pclose(p);
  if (rc != 0) {
    std::printf("exit status %d\n%s\n", rc, out.c_str());
    return {};
  }
  return nlohmann::json::parse(out, nullptr, false);
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void check_layout(const nlohmann::json& out, const nlohmann::json& ref, const std::string& label) {
  const auto& chunks = out.at("chunks");
  const auto& rc = ref.at("tokenization").at("chunks");
  check(chunks.size() == rc.size(), label + ": " + std::to_string(rc.size()) + " chunks");
  for (std::size_t i = 0; i < chunks.size() && i < rc.size(); ++i) {
    const std::string type = rc[i].at("type").get<std::string>();
    bool same = chunks[i].at("type") == type;
    if (type == "text") {
      same = same && chunks[i].at("tokens") == rc[i].at("tokens");
    } else {
      same = same && chunks[i].at("n_tokens") == rc[i].at("n_tokens") &&
             chunks[i].at("n_pos") == rc[i].at("n_pos");
    }
    check(same, label + ": chunk " + std::to_string(i) + " (" + type + ")");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MMLLM_RUN FIXTURES_DIR FIXTURE [WORK_DIR]\n", argv[0]);
    return 2;
  }
  const std::string run = argv[1];
  const std::filesystem::path fixtures = argv[2];
  const std::string name = argv[3];
  const std::filesystem::path work =
      argc > 4 ? std::filesystem::path(argv[4]) : std::filesystem::temp_directory_path();
  const std::filesystem::path dir = fixtures / "synthetic" / "mm" / name;
  const nlohmann::json ref = nlohmann::json::parse(read_text(dir / "reference.json"), nullptr, false);
  if (ref.is_discarded()) {
    std::fprintf(stderr, "cannot read %s\n", (dir / "reference.json").c_str());
    return 2;
  }
  auto fixture_file = [&](const std::string& recorded) {  // "shared/fixtures/…" → FIXTURES_DIR/…
    const std::string prefix = "shared/fixtures/";
    return (fixtures / (recorded.rfind(prefix, 0) == 0 ? recorded.substr(prefix.size()) : recorded)).string();
  };
  const auto ref_tokens = ref.at("generation_f32path").at("tokens");
  const std::string tmpl = ref.at("cli").at("cmd_mmproj").back().get<std::string>();  // --chat-template TEXT
  const std::string common =
      quote(run) + " -m " + quote(fixture_file(ref.at("files").at("model").get<std::string>())) +
      " --mmproj " + quote(fixture_file(ref.at("files").at("mmproj").get<std::string>())) + " -p " +
      quote(ref.at("prompt").get<std::string>()) + " --chat-template " + quote(tmpl) + " --temp 0 -n " +
      std::to_string(ref_tokens.size()) + " -t 2 -b 2048 --output-format json";
  const std::string image = " --image " + quote(fixture_file(ref.at("media").at("file").get<std::string>()));
  const std::string embd = (work / ("mmllm_run_" + name + "_embd.f32")).string();

  const nlohmann::json a = run_json(common + image + " --embd-out " + quote(embd));
  if (a.is_null() || a.is_discarded()) {
    check(false, "mmllm-run with --image");
    return 1;
  }
  check(a.at("tokens") == ref_tokens, name + ": greedy tokens equal generation_f32path");
  check_layout(a, ref, name + " --image");
  check(a.at("n_media_encoded").get<int>() > 0, name + ": media encoded");

  std::string embeds = " --image-embeds " + quote(embd);
  for (const auto& c : a.at("chunks"))  // an M-RoPE image: its token grid goes with the rows
    if (c.contains("nx"))
      embeds += " --image-embeds-grid " + std::to_string(c.at("nx").get<int>()) + "x" +
                std::to_string(c.at("ny").get<int>());
  const nlohmann::json b = run_json(common + embeds);
  if (b.is_null() || b.is_discarded()) {
    check(false, "mmllm-run with --image-embeds");
    return 1;
  }
  check(b.at("tokens") == ref_tokens, name + ": --image-embeds gives the same tokens");
  check_layout(b, ref, name + " --image-embeds");
  check(b.at("n_media_encoded").get<int>() == 0, name + ": nothing encoded with --image-embeds");
  std::filesystem::remove(embd);
  return failures == 0 ? 0 : 1;
}
