# Run by CTest as `cmake -P`: install, build a consumer with find_package(Strider), check
# `pkg-config --libs strider` and build the consumer with mpicc and those flags. Any failed
# step stops with FATAL_ERROR and its output.
foreach(var BUILD_DIR WORK_DIR CONSUMER_SOURCE GENERATOR C_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install_consumer: ${var} not set")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: ${name} failed (${rc}):\n${ARGN}\n${out}")
  endif()
  message(STATUS "install_consumer: ${name}: ok")
endfunction()

set(config_args)
if(BUILD_TYPE)
  set(config_args --config ${BUILD_TYPE})
endif()
step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})

step("configure consumer" ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${consumer_build}
     -G ${GENERATOR} -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_PREFIX_PATH=${prefix})
step("build consumer" ${CMAKE_COMMAND} --build ${consumer_build})

# The consumer must really depend on libstrider.so from the installed prefix.
file(GLOB_RECURSE installed_lib ${prefix}/*/libstrider.so)
if(NOT installed_lib)
  message(FATAL_ERROR "install_consumer: no libstrider.so under ${prefix}")
endif()
file(GET_RUNTIME_DEPENDENCIES EXECUTABLES ${consumer_build}/strider-consumer
     RESOLVED_DEPENDENCIES_VAR resolved UNRESOLVED_DEPENDENCIES_VAR unresolved
     PRE_INCLUDE_REGEXES "libstrider" PRE_EXCLUDE_REGEXES ".*"
     DIRECTORIES ${prefix}/lib)
if(NOT resolved MATCHES "libstrider\\.so")
  message(FATAL_ERROR "install_consumer: strider-consumer does not link libstrider.so "
                      "(resolved: ${resolved}; unresolved: ${unresolved})")
endif()
message(STATUS "install_consumer: strider-consumer links ${resolved}")

if(NOT PKG_CONFIG)
  message(FATAL_ERROR "install_consumer: pkg-config not found (tools/install-deps.sh installs it)")
endif()
file(GLOB_RECURSE pc_file ${prefix}/*/strider.pc)
if(NOT pc_file)
  message(FATAL_ERROR "install_consumer: no strider.pc under ${prefix}")
endif()
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
execute_process(COMMAND ${PKG_CONFIG} --libs --cflags strider
                RESULT_VARIABLE rc OUTPUT_VARIABLE flags ERROR_VARIABLE err
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install_consumer: pkg-config --libs strider failed: ${err}")
endif()
message(STATUS "install_consumer: pkg-config --libs --cflags strider: ${flags}")
if(NOT flags MATCHES "-lstrider")
  message(FATAL_ERROR "install_consumer: pkg-config output lacks -lstrider: ${flags}")
endif()
string(REGEX MATCH "-L([^ ]+)" _ "${flags}")
if(NOT EXISTS "${CMAKE_MATCH_1}/libstrider.so")
  message(FATAL_ERROR "install_consumer: pkg-config -L directory '${CMAKE_MATCH_1}' "
                      "has no libstrider.so")
endif()

# The same program built the way a Makefile would: the MPI compiler wrapper plus pkg-config.
if(MPI_C_COMPILER)
  separate_arguments(flag_list UNIX_COMMAND "${flags}")
  step("mpicc + pkg-config build" ${MPI_C_COMPILER} ${CONSUMER_SOURCE}/main.c ${flag_list}
       -o ${WORK_DIR}/strider-consumer-pc)
endif()
