// Uses the installed <mmllm/all.hpp>; exits non-zero if what it checks misbehaves.
#include <mmllm/all.hpp>

#include <cstdio>

int main() {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  mmllm::matrix_view<float> m(buf, 2, 3);
  bool ok = m(1, 2) == 6.0f && mmllm::to_f32(mmllm::to_f16(0.5f)) == 0.5f &&
            mmllm::traits(mmllm::dtype::q4_0).type_size == 18;
  // A JSON schema becomes a GBNF grammar the grammar parser accepts.
  const auto gbnf = mmllm::json_schema_to_gbnf(R"({"type":"object","properties":{"a":{"type":"integer"}}})");
  ok = ok && gbnf && mmllm::gbnf_grammar::parse(*gbnf, "root").has_value();
  std::puts(ok ? "mmllm consumer: ok" : "mmllm consumer: FAILED");
  return ok ? 0 : 1;
}
