// seeded_shuffle.h — permutations that depend only on a seed: the same order on every machine, compiler and
// LibTorch version, so that a resumed run sees exactly the data order of an uninterrupted one.
//
// Why by hand: std::shuffle and std::uniform_int_distribution are implementation-defined (libstdc++ and
// libc++ give different orders), and torch::randperm's algorithm may change between versions. This is
// Fisher-Yates over SplitMix64 with rejection sampling: fully specified here.
#pragma once

#include <cstdint>
#include <vector>

namespace sea::data {

// SplitMix64 step (public-domain constants by S. Vigna): a good 64-bit mixer and generator.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A seed for (seed, epoch) pairs, so that every epoch has its own order.
inline uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t s = seed ^ (stream * 0xd1b54a32d192ed03ULL);
  return splitmix64(s);
}

// A uniformly random permutation of 0..n-1 determined by `seed`.
inline std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  uint64_t state = seed;
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t bound = static_cast<uint64_t>(i) + 1;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;  // reject the biased tail
    uint64_t r;
    do {
      r = splitmix64(state);
    } while (r >= limit);
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(r % bound)]);
  }
  return order;
}

}  // namespace sea::data
