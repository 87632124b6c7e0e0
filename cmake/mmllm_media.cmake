# cmake/mmllm_media.cmake — optional dependencies of the media layer (include/mmllm/media/).
#
# Included by the root CMakeLists.txt and, installed next to mmllmConfig.cmake, by
# find_package(mmllm). Each optional library becomes an IMPORTED INTERFACE target that adds
# the library and a MMLLM_WITH_* macro; the media headers test the macro, so a program links
# the targets it wants and gets exactly those decoders:
#
#   mmllm::media_sndfile   MMLLM_WITH_SNDFILE  MP3 / FLAC / Ogg audio through libsndfile
#   mmllm::media_webp      MMLLM_WITH_WEBP     WebP images through libwebp
#   mmllm::media_ffmpeg    MMLLM_WITH_FFMPEG   video frames through libavformat/libavcodec/libswscale
#   mmllm::media_openssl   MMLLM_WITH_OPENSSL  https in media/http_fetch.hpp (Asio + OpenSSL)
#   mmllm::media           mmllm::mmllm plus every one of the above that is enabled
#
# Options MMLLM_WITH_SNDFILE / _WEBP / _FFMPEG / _OPENSSL default to ON when the library is
# found (scripts/setup installs all of them); turning one ON when it is missing is an error.
# Every translation unit of a program should see the same MMLLM_WITH_* macros (link the
# same targets), because inline functions such as mmllm::media::capabilities() depend on them.

if(TARGET mmllm::media)
  return()
endif()

find_package(PkgConfig QUIET)
find_package(Threads REQUIRED)

# mmllm_media_optional(<NAME> <MACRO> <doc> <pkg-config modules...>)
function(mmllm_media_optional name macro doc)
  set(found FALSE)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(MMLLM_PC_${name} QUIET IMPORTED_TARGET GLOBAL ${ARGN})
    set(found ${MMLLM_PC_${name}_FOUND})
  endif()
  option(MMLLM_WITH_${name} "${doc}" ${found})
  if(MMLLM_WITH_${name})
    if(NOT found)
      message(FATAL_ERROR "MMLLM_WITH_${name}=ON but pkg-config cannot find: ${ARGN}")
    endif()
    string(TOLOWER "${name}" lower)
    add_library(mmllm::media_${lower} INTERFACE IMPORTED GLOBAL)
    set_target_properties(mmllm::media_${lower} PROPERTIES
      INTERFACE_LINK_LIBRARIES PkgConfig::MMLLM_PC_${name}
      INTERFACE_COMPILE_DEFINITIONS ${macro}=1)
    set_property(GLOBAL APPEND PROPERTY MMLLM_MEDIA_ENABLED mmllm::media_${lower})
  endif()
endfunction()

mmllm_media_optional(SNDFILE MMLLM_WITH_SNDFILE "MP3/FLAC/Ogg audio through libsndfile" sndfile)
mmllm_media_optional(WEBP MMLLM_WITH_WEBP "WebP images through libwebp" libwebp)
mmllm_media_optional(FFMPEG MMLLM_WITH_FFMPEG "video frames through FFmpeg"
                     libavformat libavcodec libavutil libswscale)
mmllm_media_optional(OPENSSL MMLLM_WITH_OPENSSL "https for media URLs through OpenSSL" openssl)

get_property(mmllm_media_enabled GLOBAL PROPERTY MMLLM_MEDIA_ENABLED)
add_library(mmllm::media INTERFACE IMPORTED GLOBAL)
set_target_properties(mmllm::media PROPERTIES
  INTERFACE_LINK_LIBRARIES "mmllm::mmllm;Threads::Threads;${mmllm_media_enabled}")
message(STATUS "mmllm media: optional decoders enabled: ${mmllm_media_enabled}")
