// filesystem.h — file operations shared by every writer in SEA: atomic file writes, and tree removal that
// std::filesystem cannot be trusted with here.
//
// Why hand-written: the CUDA build of torch 2.11 (the GPU machine's LibTorch) exports its own copy of
// std::filesystem::remove_all from libtorch.so; our binaries bind to it instead of libstdc++'s, and it jumps to
// a null address as soon as the directory exists (backtrace in docs/GPU.md). remove_tree() uses POSIX nftw.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace sea {

// Removes a file or a whole directory tree (symlinks are removed, not followed). No error if `path` does not
// exist; throws sea::Error naming the entry that could not be removed.
void remove_tree(const std::string& path);

// Writes `path` atomically: `write` fills a temporary file beside it (binary stream), which is renamed over
// `path` only when complete and flushed. On any failure the temporary file is removed, `path` is left as it
// was, and sea::Error (or the writer's own exception) propagates.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace sea
