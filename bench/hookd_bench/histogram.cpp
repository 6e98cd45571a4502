// Bucket arithmetic of the log-linear histogram (see histogram.hpp).
#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace hookd::bench {

// Values below 128 have a bucket each. From 128 on, a value with its top bit at position
// e (e >= 7) keeps its 7 most significant bits: bucket 128 + (e - 7) * 64 + (top - 64).
std::size_t Histogram::index(std::uint64_t ns) {
  if (ns < 128) return static_cast<std::size_t>(ns);
  int e = 63 - std::countl_zero(ns);
  auto top = static_cast<std::size_t>(ns >> (e - 6));  // in [64, 127]
  return 128 + static_cast<std::size_t>(e - 7) * 64 + (top - 64);
}

std::uint64_t Histogram::upper_bound(std::size_t i) {
  if (i < 128) return i;
  std::size_t e = 7 + (i - 128) / 64;
  std::uint64_t top = 64 + (i - 128) % 64;
  return ((top + 1) << (e - 6)) - 1;
}

void Histogram::record(std::uint64_t ns) {
  ++buckets_[index(ns)];
  ++count_;
  sum_ += ns;
  max_ = std::max(max_, ns);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t Histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * count_));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(upper_bound(i), max_);
  }
  return max_;
}

}  // namespace hookd::bench
