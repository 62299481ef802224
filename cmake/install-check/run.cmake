# cmake -DBUILD=dir -DPREFIX=dir -DCC=cc -DSRC=embedder.c -P run.cmake
#
# The embedding promise, checked end to end: `cmake --install` puts the
# library, the public header and a relocatable vnat.pc under any prefix, and
# a program builds and runs against them with pkg-config alone.
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${PREFIX}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed:\n${out}")
endif()
foreach(f lib/libvnat.a include/vnat/vnat.h lib/pkgconfig/vnat.pc)
  if(NOT EXISTS ${PREFIX}/${f})
    message(FATAL_ERROR "not installed: ${f} (installed:\n${out})")
  endif()
  message("installed: ${f}")
endforeach()

find_program(PKG_CONFIG pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} ${PREFIX}/lib/pkgconfig)
execute_process(COMMAND ${PKG_CONFIG} --cflags --libs vnat RESULT_VARIABLE rc
                OUTPUT_VARIABLE flags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs vnat failed: ${err}")
endif()
message("pkg-config --cflags --libs vnat: ${flags}")
if(NOT flags MATCHES "${PREFIX}")
  message(FATAL_ERROR "vnat.pc does not point into the install prefix ${PREFIX}: ${flags}")
endif()
separate_arguments(flag_list UNIX_COMMAND "${flags}")
set(exe ${PREFIX}/embedder)
execute_process(COMMAND ${CC} -std=c11 -Wall -Wextra -Werror ${SRC} ${flag_list} -o ${exe}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the embedder does not build against the installed vnat:\n${out}")
endif()
execute_process(COMMAND ${exe} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the embedder failed (${rc})")
endif()
