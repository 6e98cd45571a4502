// Registry: series storage and the Prometheus text exposition.
#include "hookd/metrics/registry.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace hookd::metrics {
namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string render_labels(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out += k;
    out += "=\"";
    out += escape_label(v);
    out += '"';
  }
  return out;
}

std::string format_value(double v) {
  if (v == static_cast<double>(static_cast<std::int64_t>(v))) {
    return fmt::format("{}", static_cast<std::int64_t>(v));
  }
  return fmt::format("{:.9g}", v);
}

void add_atomic(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::string with_le(const std::string& labels, const std::string& le) {
  return labels.empty() ? fmt::format("le=\"{}\"", le) : fmt::format("{},le=\"{}\"", labels, le);
}

}  // namespace

void Gauge::add(double v) { add_atomic(value_, v); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  add_atomic(sum_, v);
}

std::vector<std::uint64_t> Histogram::counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

Registry::Family& Registry::family(std::string_view name, std::string_view help, Kind kind) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{kind, std::string(help), {}, {}, {}}).first;
  } else if (it->second.kind != kind) {
    throw std::logic_error("metric " + std::string(name) + " registered with two kinds");
  }
  return it->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, Kind::counter).counters[render_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, Kind::gauge).gauges[render_labels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

void Registry::remove_gauge(std::string_view name, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it != families_.end()) it->second.gauges.erase(render_labels(labels));
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, Kind::histogram).histograms[render_labels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return *slot;
}

std::string Registry::expose() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    static constexpr const char* kTypes[] = {"counter", "gauge", "histogram"};
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, fam.help, name,
                       kTypes[static_cast<int>(fam.kind)]);
    // The lambda captures a plain reference: clang before 16 (the fuzz preset's clang-14)
    // cannot capture a structured binding.
    const std::string& family = name;
    auto series = [&](const std::string& suffix, const std::string& labels, double v) {
      out += family;
      out += suffix;
      if (!labels.empty()) out += '{' + labels + '}';
      out += ' ';
      out += format_value(v);
      out += '\n';
    };
    for (const auto& [labels, c] : fam.counters) series("", labels, static_cast<double>(c->value()));
    for (const auto& [labels, g] : fam.gauges) series("", labels, g->value());
    for (const auto& [labels, h] : fam.histograms) {
      auto counts = h->counts();
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        std::string le = i < h->bounds().size() ? format_value(h->bounds()[i]) : "+Inf";
        series("_bucket", with_le(labels, le), static_cast<double>(cumulative));
      }
      series("_sum", labels, h->sum());
      series("_count", labels, static_cast<double>(cumulative));
    }
  }
  return out;
}

std::vector<double> exponential_buckets(double start, double factor, int n) {
  std::vector<double> out;
  out.reserve(n);
  for (double v = start; n-- > 0; v *= factor) out.push_back(v);
  return out;
}

}  // namespace hookd::metrics
