// Registry: series identity, histogram buckets and the Prometheus text format.
#include "hookd/metrics/registry.hpp"

#include <boost/test/unit_test.hpp>

using namespace hookd::metrics;

BOOST_AUTO_TEST_SUITE(metrics_registry)

BOOST_AUTO_TEST_CASE(same_labels_same_series) {
  Registry r;
  auto& a = r.counter("hookd_requests_total", "Requests.", {{"route", "jofi"}, {"status", "202"}});
  auto& b = r.counter("hookd_requests_total", "Requests.", {{"route", "jofi"}, {"status", "202"}});
  auto& c = r.counter("hookd_requests_total", "Requests.", {{"route", "jofi"}, {"status", "200"}});
  BOOST_TEST(&a == &b);
  BOOST_TEST(&a != &c);
  a.inc();
  b.inc(2);
  BOOST_TEST(a.value() == 3u);
  auto text = r.expose();
  BOOST_TEST(text.find("# TYPE hookd_requests_total counter\n") != std::string::npos);
  BOOST_TEST(text.find("hookd_requests_total{route=\"jofi\",status=\"202\"} 3\n") !=
             std::string::npos);
  BOOST_TEST(text.find("hookd_requests_total{route=\"jofi\",status=\"200\"} 0\n") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(histogram_buckets_are_cumulative) {
  Registry r;
  auto& h = r.histogram("hookd_commit_batch_size", "Batch size.", {1, 10, 100});
  h.observe(1);
  h.observe(5);
  h.observe(50);
  h.observe(5000);
  auto text = r.expose();
  BOOST_TEST(text.find("hookd_commit_batch_size_bucket{le=\"1\"} 1\n") != std::string::npos);
  BOOST_TEST(text.find("hookd_commit_batch_size_bucket{le=\"10\"} 2\n") != std::string::npos);
  BOOST_TEST(text.find("hookd_commit_batch_size_bucket{le=\"100\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("hookd_commit_batch_size_bucket{le=\"+Inf\"} 4\n") != std::string::npos);
  BOOST_TEST(text.find("hookd_commit_batch_size_sum 5056\n") != std::string::npos);
  BOOST_TEST(text.find("hookd_commit_batch_size_count 4\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(label_values_are_escaped) {
  Registry r;
  r.gauge("g", "A gauge.", {{"path", "a\"b\\c\nd"}}).set(1.5);
  BOOST_TEST(r.expose().find("g{path=\"a\\\"b\\\\c\\nd\"} 1.5\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(one_name_one_kind) {
  Registry r;
  r.counter("x", "X.");
  BOOST_CHECK_THROW(r.gauge("x", "X."), std::logic_error);
}

BOOST_AUTO_TEST_SUITE_END()
