// A log-linear latency histogram (HdrHistogram-style): 128 linear buckets below 128 ns,
// then 64 sub-buckets per power of two, so a percentile is within 1.6% of the true value.
// Fixed size, no allocation per record; not thread-safe (one per load thread, merged).
#pragma once

#include <array>
#include <cstdint>

namespace hookd::bench {

class Histogram {
 public:
  void record(std::uint64_t ns);
  void merge(const Histogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // The smallest recorded bucket bound at or above the `q` quantile (0 < q <= 1), in ns;
  // 0 when empty. Never above max().
  std::uint64_t percentile(double q) const;

 private:
  static constexpr std::size_t kBuckets = 128 + 57 * 64;
  static std::size_t index(std::uint64_t ns);
  static std::uint64_t upper_bound(std::size_t index);  // largest value in the bucket

  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0, sum_ = 0, max_ = 0;
};

}  // namespace hookd::bench
