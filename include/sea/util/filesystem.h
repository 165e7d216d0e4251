// filesystem.h — the file operations SEA needs that std::filesystem cannot be trusted with here.
//
// Why hand-written: the CUDA build of torch 2.11 (the GPU machine's LibTorch) exports its own copy of
// std::filesystem::remove_all from libtorch.so; our binaries bind to it instead of libstdc++'s, and it jumps to
// a null address as soon as the directory exists (backtrace in docs/GPU.md). remove_tree() uses POSIX nftw.
#pragma once

#include <string>

namespace sea {

// Removes a file or a whole directory tree (symlinks are removed, not followed). No error if `path` does not
// exist; throws sea::Error naming the entry that could not be removed.
void remove_tree(const std::string& path);

}  // namespace sea
