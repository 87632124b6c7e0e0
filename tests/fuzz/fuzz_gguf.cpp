// libFuzzer target: parses arbitrary bytes as GGUF from memory and walks everything a
// successful parse exposes (all metadata values, tensor infos, data spans, matrix views).
// Built only with MMLLM_FUZZ=ON (clang, -fsanitize=fuzzer,address,undefined); scripts/test
// fuzz runs it with seeds from tests/fuzz/seeds/fuzz_gguf and the fixture directories in
// fuzz_gguf.seed_dirs.
#include <mmllm/io/gguf_reader.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "../io/gguf_walk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto r = mmllm::gguf_reader::parse(mmllm::byte_source::borrow(bytes));
  if (!r) {
    const auto& e = r.error();
    const bool format_error = e.code == mmllm::errc::malformed || e.code == mmllm::errc::truncated ||
                              e.code == mmllm::errc::out_of_range || e.code == mmllm::errc::unsupported;
    if (!format_error || e.message.rfind("gguf: ", 0) != 0) {
      std::fprintf(stderr, "unexpected error: %s\n", e.what().c_str());
      std::abort();
    }
    return 0;
  }
  const auto w = mmllm::test::walk(*r);
  if (!w.problem.empty()) {
    std::fprintf(stderr, "invariant violated: %s\n", w.problem.c_str());
    std::abort();
  }
  // A second parse with the strictest options must agree or fail cleanly too.
  mmllm::gguf_read_options strict;
  strict.max_array_depth = 1;
  strict.require_supported_dtypes = true;
  auto s = mmllm::gguf_reader::parse(mmllm::byte_source::borrow(bytes), strict);
  if (s && s->tensors().size() != r->tensors().size()) std::abort();
  return 0;
}
