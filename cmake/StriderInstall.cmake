# Install rules, exported package and pkg-config file.
# Installs libstrider.so, the public headers include/strider/*.h, the CMake package Strider
# (find_package(Strider) gives the imported target Strider::strider) and strider.pc.
include(CMakePackageConfigHelpers)

set(STRIDER_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/Strider
    CACHE STRING "Where the Strider CMake package files are installed (relative to the prefix)")
mark_as_advanced(STRIDER_INSTALL_CMAKEDIR)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/strider
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

if(TARGET strider)
  # The module libraries (strider_core ... strider_exec) are static and linked PRIVATE into
  # the shared library, so they are not part of its link interface and stay out of the export.
  install(TARGETS strider EXPORT StriderTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT StriderTargets
          NAMESPACE Strider::
          FILE StriderTargets.cmake
          DESTINATION ${STRIDER_INSTALL_CMAKEDIR})

  configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/StriderConfig.cmake.in
    ${PROJECT_BINARY_DIR}/StriderConfig.cmake
    INSTALL_DESTINATION ${STRIDER_INSTALL_CMAKEDIR})
  # 0.x releases promise nothing across minor versions.
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/StriderConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/StriderConfig.cmake
                ${PROJECT_BINARY_DIR}/StriderConfigVersion.cmake
          DESTINATION ${STRIDER_INSTALL_CMAKEDIR})

  # strider.pc is written at install time so that `cmake --install --prefix DIR` puts DIR in
  # it rather than the prefix chosen at configure time.
  foreach(dir LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
      set(STRIDER_PC_${dir} "${CMAKE_INSTALL_${dir}}")
    else()
      set(STRIDER_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
    endif()
  endforeach()
  install(CODE "
    set(STRIDER_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    set(STRIDER_PC_LIBDIR [==[${STRIDER_PC_LIBDIR}]==])
    set(STRIDER_PC_INCLUDEDIR [==[${STRIDER_PC_INCLUDEDIR}]==])
    set(STRIDER_PC_VERSION \"${PROJECT_VERSION}\")
    set(STRIDER_PC_DESCRIPTION \"${PROJECT_DESCRIPTION}\")
    configure_file(\"${CMAKE_CURRENT_LIST_DIR}/strider.pc.in\"
                   \"${PROJECT_BINARY_DIR}/pkgconfig/strider.pc\" @ONLY)
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\"
         TYPE FILE FILES \"${PROJECT_BINARY_DIR}/pkgconfig/strider.pc\")
  ")
else()
  message(STATUS "Strider: no target 'strider' (libstrider.so) yet; installing headers only")
endif()

# Command-line tools, where they are built targets.
foreach(tool strider-explain strider-measure)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
