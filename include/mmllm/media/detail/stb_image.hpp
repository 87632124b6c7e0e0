// mmllm/media/detail/stb_image.hpp — a private, per-translation-unit copy of stb_image.
//
// stb_image (Debian: libstb-dev) is compiled here with STB_IMAGE_STATIC and
// STB_IMAGE_IMPLEMENTATION, so every translation unit that decodes images gets its own static
// (internal-linkage) decoder and no library needs to be linked. Only memory decoding is
// compiled (STBI_NO_STDIO), without the Softimage PIC loader and the float API, and with
// stb's warnings silenced locally so -Werror builds pass. stb_image keeps its failure reason
// in a thread-local variable; mmllm reads it right after a failed call on the same thread.
//
// Include this before any other stb_image.h in a translation unit (a plain, non-static
// declaration of stb's functions seen first would clash with the static definitions).
#pragma once

#if defined(STBI_INCLUDE_STB_IMAGE_H) && !defined(MMLLM_DETAIL_STB_IMAGE_INCLUDED)
#error "mmllm/media: include mmllm's image headers before stb_image.h in this translation unit"
#endif
#define MMLLM_DETAIL_STB_IMAGE_INCLUDED 1

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_NO_PIC
#define STBI_NO_LINEAR

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-variable"
#endif
#if defined(__clang__)
#pragma clang diagnostic ignored "-Weverything"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wuseless-cast"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wduplicated-branches"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#if __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h>  // NOLINT
#else
#include <stb_image.h>  // NOLINT
#endif

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif

#undef STB_IMAGE_STATIC
#undef STB_IMAGE_IMPLEMENTATION
