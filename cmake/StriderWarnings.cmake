# Compile options for Strider's own targets (never for third-party code).
add_library(strider_options INTERFACE)
target_compile_options(strider_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                             -Wold-style-cast -Wcast-align -Wimplicit-fallthrough>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${STRIDER_WERROR}>>:-Werror>
  $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${STRIDER_WERROR}>>:-Werror=all-warnings>)
# GCC 12 at -O3 reports -Wrestrict inside libstdc++'s own string concatenation
# ("literal" + std::string), a false positive in the header, not in Strider's code.
# Keep it a warning there so a Release build with STRIDER_WERROR=ON still builds.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(strider_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-error=restrict>)
endif()
# libstrider.so is preloaded or linked, never dlopen'ed late, so its few thread-local
# variables (reentry guard, counter shard, layout memo) can live in the static TLS block:
# a %fs-relative load instead of a __tls_get_addr call on every intercepted call.
target_compile_options(strider_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-ftls-model=initial-exec>)
if(STRIDER_SANITIZE)
  target_compile_options(strider_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-omit-frame-pointer
                              -fno-sanitize-recover=undefined>)
  target_link_options(strider_options INTERFACE -fsanitize=address,undefined)
endif()
