#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script for vnat: builds the core (and the
# simulator for fuzz_swarm) with the service's $CC/$CFLAGS, links every
# target in fuzz/targets/ with $LIB_FUZZING_ENGINE into $OUT/fuzz_NAME, and
# ships each target's seed corpus and dictionary beside it. The targets are
# the ones `fuzz/run` and CI use; nothing here is specific to the service.
cd "$SRC/vnat"
build=$WORK/vnat-build
# No project sanitizer or -Werror flags: the service chooses them in $CFLAGS.
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" \
      -DCMAKE_BUILD_TYPE= -DVNAT_BUILD_TESTS=OFF -DVNAT_WERROR=OFF -DVNAT_FUZZ=OFF
cmake --build "$build" -j"$(nproc)" --target vnat_core
have_sim=0
if [ -f sim/CMakeLists.txt ] && cmake --build "$build" -j"$(nproc)" --target vnat_sim; then
  have_sim=1
fi
inc="-Icore/include -Icore/src -Ifuzz"
support="fuzz/fuzzhost.c fuzz/fuzzgen.c"
for src in fuzz/targets/fuzz_*.c; do
  name=$(basename "$src" .c)
  libs="$build/core/libvnat.a"
  extra=""
  if [ "$name" = fuzz_swarm ]; then
    [ "$have_sim" = 1 ] || continue
    extra="-Isim -Ivlog"
    libs="$build/sim/libvnat_sim.a $build/vlog/libvnat_vlog.a $libs"
  fi
  # The adapter's API parser is pure C with no system calls: compiled in.
  [ "$name" = fuzz_api ] && extra="-Ihost host/api_proto.c"
  # shellcheck disable=SC2086
  $CC $CFLAGS -DVNAT_LIBFUZZER=1 $inc $extra "$src" $support $libs $LIB_FUZZING_ENGINE \
      -o "$OUT/$name"
  short=${name#fuzz_}
  if [ -d "fuzz/corpus/$short" ]; then
    (cd "fuzz/corpus/$short" && zip -q -j "$OUT/${name}_seed_corpus.zip" ./*)
  fi
  if [ -d "fuzz/regressions/$short" ]; then
    (cd "fuzz/regressions/$short" && find . -type f ! -name 'README*' -exec \
       zip -q -j "$OUT/${name}_seed_corpus.zip" {} +) || true
  fi
  [ -f "fuzz/dict/$short.dict" ] && cp "fuzz/dict/$short.dict" "$OUT/$name.dict"
done
