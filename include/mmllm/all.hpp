// mmllm/all.hpp — every public component that needs no optional library, in one include.
//
//   #include <mmllm/all.hpp>
//   auto eng = mmllm::engine<mmllm::compute::simd, mmllm::full_sampler>::load("model.gguf", ...);
//
// Convenient for experiments and Compiler Explorer; programs that care about compile time
// include the headers they use (each layer's headers are listed in docs/). Not included here
// because they need a library beyond the C++ standard library and the required header-only
// packages: media/http_fetch.hpp (Asio, OpenSSL), and the optional decoders that
// media/image_decode.hpp, media/audio_decode.hpp and media/video_decode.hpp pull in only when
// MMLLM_WITH_WEBP / MMLLM_WITH_SNDFILE / MMLLM_WITH_FFMPEG are defined (see docs/media.md).
#pragma once

// core/ — result, element types, tensor views, ggml block formats
#include "core/any_matrix_view.hpp"
#include "core/bf16.hpp"
#include "core/dtype.hpp"
#include "core/f16.hpp"
#include "core/quant_format.hpp"
#include "core/quant_formats.hpp"
#include "core/result.hpp"
#include "core/tensor_view.hpp"

// io/ — GGUF reading and writing
#include "io/gguf_reader.hpp"
#include "io/gguf_writer.hpp"
#include "io/mapped_file.hpp"

// compute/ — policies (scalar reference, run-time dispatched SIMD), kernels, threads
#include "compute/compute_policy.hpp"
#include "compute/scalar.hpp"
#include "compute/simd.hpp"
#include "compute/thread_pool.hpp"

// tokenize/ — tokenizers, detokenizer, chat templates
#include "tokenize/chat_template.hpp"
#include "tokenize/chat_template_json.hpp"
#include "tokenize/detokenizer.hpp"
#include "tokenize/gguf_tokenizer.hpp"
#include "tokenize/tokenizer.hpp"
#include "tokenize/tokenizer_json.hpp"

// media/ — sources, decoders, preprocessing
#include "media/audio_decode.hpp"
#include "media/capabilities.hpp"
#include "media/content_hash.hpp"
#include "media/image_decode.hpp"
#include "media/image_normalize.hpp"
#include "media/image_resize.hpp"
#include "media/image_tiling.hpp"
#include "media/media_source.hpp"
#include "media/video_decode.hpp"
#include "media/whisper_log_mel.hpp"

// sampling/ — samplers, chains, grammars, JSON schema
#include "sampling/sampler_chain.hpp"
#include "sampling/sampling_params.hpp"
#include "sampling/sequence_sampler.hpp"

// models/ — decoder stacks, KV cache, mmproj encoders
#include "models/decoder.hpp"
#include "models/kv_cache.hpp"
#include "models/multimodal_encoder.hpp"
#include "models/text_model.hpp"

// engine/ — offline engine, requests, multimodal prompts
#include "engine/engine.hpp"
#include "engine/full_sampler.hpp"
#include "engine/mm_chunker.hpp"
#include "engine/mm_eval.hpp"
#include "engine/request.hpp"
