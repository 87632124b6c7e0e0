#include <mmllm/core/result.hpp>

#include <memory>
#include <string>

#include "catch.hpp"

using mmllm::errc;
using mmllm::result;

namespace {
result<int> parse_digit(char c) {
  if (c < '0' || c > '9')
    return mmllm::make_error(errc::invalid_argument, "not a digit: ", std::string(1, c));
  return c - '0';
}

result<int> sum_two(char a, char b) {
  MMLLM_TRY_ASSIGN(const int x, parse_digit(a));
  MMLLM_TRY_ASSIGN(const int y, parse_digit(b));
  return x + y;
}

result<void> check_digit(char c) {
  MMLLM_TRY(parse_digit(c));
  return mmllm::ok();
}
}  // namespace

TEST_CASE("result holds a value or an error") {
  auto r = parse_digit('7');
  REQUIRE(r.has_value());
  CHECK(*r == 7);
  auto e = parse_digit('x');
  REQUIRE_FALSE(e);
  CHECK(e.error().code == errc::invalid_argument);
  CHECK(e.error().message == "not a digit: x");
  CHECK(e.error().what() == "invalid_argument: not a digit: x");
  CHECK(e.value_or(-1) == -1);
}

TEST_CASE("MMLLM_TRY propagates the first error") {
  CHECK(*sum_two('3', '4') == 7);
  auto r = sum_two('3', '?');
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "not a digit: ?");
  CHECK(check_digit('1').has_value());
  CHECK_FALSE(check_digit('a').has_value());
}

TEST_CASE("result works with move-only values") {
  result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  REQUIRE(r);
  auto p = std::move(r).value();
  CHECK(*p == 5);
}
