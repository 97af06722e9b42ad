# Compile options for Strider's own targets (never for third-party code).
add_library(strider_options INTERFACE)
target_compile_options(strider_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                             -Wold-style-cast -Wcast-align -Wimplicit-fallthrough>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${STRIDER_WERROR}>>:-Werror>
  $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${STRIDER_WERROR}>>:-Werror=all-warnings>)
if(STRIDER_SANITIZE)
  target_compile_options(strider_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-omit-frame-pointer
                              -fno-sanitize-recover=undefined>)
  target_link_options(strider_options INTERFACE -fsanitize=address,undefined)
endif()
