// mmllm-gguf — prints a GGUF file's metadata and tensor table.
//
//   mmllm-gguf [--json] [--head N | --full] FILE.gguf...
//
// Text output lists every metadata entry (type and value; arrays summarised as element
// type, length and the first N elements, long strings shortened) and the tensor table
// (name, type, shape, offset in the data section, size in bytes). --json prints the same
// as JSON: one object per file (an array of them for several files). Exit status: 0 when
// every file parsed, 1 when one did not (its error is printed), 2 for bad arguments.
#include <mmllm/io/gguf_reader.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct options {
  bool json = false;
  std::size_t head = 8;           // array elements shown
  std::size_t string_limit = 96;  // bytes of a string shown in text mode
  std::vector<std::string> files;
};

constexpr std::size_t unlimited = static_cast<std::size_t>(-1);

void usage(std::FILE* to) {
  std::fputs(
      "usage: mmllm-gguf [--json] [--head N | --full] FILE.gguf...\n"
      "  Prints each file's metadata (arrays: element type, length, first N elements)\n"
      "  and its tensor table (name, type, shape, data offset, size).\n"
      "  --json     machine-readable output (an object per file; an array for several files)\n"
      "  --head N   show the first N elements of arrays (default 8)\n"
      "  --full     show whole arrays and strings\n",
      to);
}

// Shortest decimal text that reads back as the same float/double.
template <class F>
std::string shortest(F v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return {buf, r.ptr};
}

// A string literal with C-style escapes for quotes, backslashes and control bytes.
std::string quoted(std::string_view s, std::size_t limit) {
  std::string out = "\"";
  const std::size_t n = std::min(s.size(), limit);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  if (n < s.size()) out += "… (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string scalar_text(const mmllm::gguf_value& v) {
  using mmllm::gguf_type;
  switch (v.type()) {
    case gguf_type::boolean: return *v.get<bool>() ? "true" : "false";
    case gguf_type::float32: return shortest(*v.get<float>());
    case gguf_type::float64: return shortest(*v.get<double>());
    default:
      if (v.is_integer()) {
        if (auto u = v.as<std::uint64_t>()) return std::to_string(*u);
        return std::to_string(*v.as<std::int64_t>());
      }
      return "?";
  }
}

std::string value_text(const mmllm::gguf_value& v, const options& opt) {
  if (v.is_string()) return quoted(*v.get<std::string_view>(), opt.string_limit);
  if (!v.is_array()) return scalar_text(v);
  const mmllm::gguf_array a(v);
  std::string s = "[" + std::to_string(a.size()) + "]";
  const std::size_t n = std::min(a.size(), opt.head);
  for (std::size_t i = 0; i < n; ++i) {
    s += i == 0 ? " " : ", ";
    const mmllm::gguf_value e = a[i];
    if (e.is_array()) {
      s += e.type_name() + value_text(e, opt);
    } else {
      s += e.is_string() ? quoted(*e.get<std::string_view>(), std::min<std::size_t>(opt.string_limit, 32))
                         : scalar_text(e);
    }
  }
  if (n < a.size()) s += ", …";
  return s;
}

nlohmann::ordered_json value_json(const mmllm::gguf_value& v, const options& opt) {
  using mmllm::gguf_type;
  switch (v.type()) {
    case gguf_type::boolean: return *v.get<bool>();
    // Through the shortest decimal text, so 0.1f prints as 0.1, not 0.10000000149011612.
    case gguf_type::float32: return std::strtod(shortest(*v.get<float>()).c_str(), nullptr);
    case gguf_type::float64: return *v.get<double>();
    case gguf_type::string: return std::string(*v.get<std::string_view>());
    case gguf_type::array: {
      const mmllm::gguf_array a(v);
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      const std::size_t n = std::min(a.size(), opt.head);
      for (std::size_t i = 0; i < n; ++i) out.push_back(value_json(a[i], opt));
      return out;
    }
    default:
      if (auto u = v.as<std::uint64_t>()) return *u;
      return *v.as<std::int64_t>();
  }
}

nlohmann::ordered_json entry_json(std::string_view key, const mmllm::gguf_value& v, const options& opt) {
  nlohmann::ordered_json e;
  e["key"] = std::string(key);
  e["type"] = std::string(to_string(v.type()));
  if (v.is_array()) {
    const mmllm::gguf_array a(v);
    e["element_type"] = std::string(to_string(a.element_type()));
    e["length"] = a.size();
    e["truncated"] = a.size() > opt.head;
  }
  e["value"] = value_json(v, opt);
  return e;
}

std::string shape_text(const mmllm::gguf_tensor_info& t) {
  std::string s = "[";
  for (std::size_t d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

void print_text(const std::string& path, const mmllm::gguf_reader& r, const options& opt) {
  std::printf(
      "%s: GGUF v%u, %zu metadata entries, %zu tensors, alignment %llu, data at offset %llu, %zu bytes\n",
      path.c_str(), r.version(), r.metadata().size(), r.tensors().size(),
      static_cast<unsigned long long>(r.alignment()), static_cast<unsigned long long>(r.data_offset()),
      r.file_bytes().size());
  std::size_t key_w = 8;
  for (const auto& kv : r.metadata()) key_w = std::max(key_w, kv.key.size());
  std::printf("\nmetadata:\n");
  for (const auto& kv : r.metadata()) {
    std::printf("  %-*s  %-15s %s\n", static_cast<int>(key_w), std::string(kv.key).c_str(),
                kv.value.type_name().c_str(), value_text(kv.value, opt).c_str());
  }
  std::size_t name_w = 4;
  for (const auto& t : r.tensors()) name_w = std::max(name_w, t.name.size());
  std::printf("\ntensors:\n  %5s  %-*s  %-7s  %-22s  %12s  %12s\n", "#", static_cast<int>(name_w), "name",
              "type", "shape", "offset", "size");
  std::size_t i = 0;
  for (const auto& t : r.tensors()) {
    std::printf("  %5zu  %-*s  %-7s  %-22s  %12llu  %12llu\n", i++, static_cast<int>(name_w),
                std::string(t.name).c_str(), std::string(mmllm::name_of(t.type)).c_str(),
                shape_text(t).c_str(), static_cast<unsigned long long>(t.offset),
                static_cast<unsigned long long>(t.size));
  }
}

nlohmann::ordered_json file_json(const std::string& path, const mmllm::gguf_reader& r, const options& opt) {
  nlohmann::ordered_json j;
  j["file"] = path;
  j["version"] = r.version();
  j["alignment"] = r.alignment();
  j["data_offset"] = r.data_offset();
  j["file_size"] = r.file_bytes().size();
  nlohmann::ordered_json md = nlohmann::ordered_json::array();
  for (const auto& kv : r.metadata()) md.push_back(entry_json(kv.key, kv.value, opt));
  j["metadata"] = std::move(md);
  nlohmann::ordered_json ts = nlohmann::ordered_json::array();
  for (const auto& t : r.tensors()) {
    nlohmann::ordered_json e;
    e["name"] = std::string(t.name);
    e["type"] = std::string(mmllm::name_of(t.type));
    e["shape"] = std::vector<std::uint64_t>(t.shape().begin(), t.shape().end());
    e["offset"] = t.offset;
    e["file_offset"] = r.data_offset() + t.offset;
    e["size"] = t.size;
    ts.push_back(std::move(e));
  }
  j["tensors"] = std::move(ts);
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--json") {
      opt.json = true;
    } else if (a == "--full") {
      opt.head = unlimited;
      opt.string_limit = unlimited;
    } else if (a == "--head" && i + 1 < argc) {
      const std::string_view n = argv[++i];
      std::size_t v = 0;
      const auto r = std::from_chars(n.data(), n.data() + n.size(), v);
      if (r.ec != std::errc() || r.ptr != n.data() + n.size()) {
        std::fprintf(stderr, "mmllm-gguf: --head needs a number, got '%s'\n", argv[i]);
        return 2;
      }
      opt.head = v;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "mmllm-gguf: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    } else {
      opt.files.emplace_back(a);
    }
  }
  if (opt.files.empty()) {
    usage(stderr);
    return 2;
  }

  int status = 0;
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (std::size_t f = 0; f < opt.files.size(); ++f) {
    const std::string& path = opt.files[f];
    auto r = mmllm::gguf_reader::open(path);
    if (!r) {
      std::fprintf(stderr, "mmllm-gguf: %s\n", r.error().what().c_str());
      status = 1;
      if (opt.json) {
        all.push_back(
            {{"file", path},
             {"error", {{"code", std::string(to_string(r.error().code))}, {"message", r.error().message}}}});
      }
      continue;
    }
    if (opt.json) {
      all.push_back(file_json(path, *r, opt));
    } else {
      if (f != 0) std::printf("\n");
      print_text(path, *r, opt);
    }
  }
  if (opt.json) {
    const nlohmann::ordered_json& out = all.size() == 1 ? all[0] : all;
    // Metadata strings need not be valid UTF-8 (byte tokens); invalid bytes become U+FFFD.
    std::puts(out.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  }
  return status;
}
