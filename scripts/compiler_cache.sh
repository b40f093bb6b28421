# Sourced by the build scripts: compile through ccache when it is installed (scripts/setup.sh
# installs it), so that a rebuild of unchanged sources, in this checkout or in another clone on
# the same machine, takes seconds. Sets `compiler_cache` to the cmake options that enable it (empty
# without ccache). Paths under the checkout are hashed relative to it, so clones share entries.
compiler_cache=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$root"
  export CCACHE_NOHASHDIR=true
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
  compiler_cache=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
