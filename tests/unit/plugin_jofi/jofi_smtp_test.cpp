// jofi plugin's completion mails against a local SMTP sink: one mail with the right
// envelope, subject and dot-stuffed body; no second mail; 451, refused and silent relays.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db.hpp"
#include "hookd/plugin/loader.hpp"
#include "loopback.hpp"
#include "plugins.hpp"
#include "temp_dir.hpp"

using hookd::plugin::Library;
using hookd::plugin::Outcome;
using hookd::plugin::Result;
using hookd::test::Db;
using hookd::test::TempDir;
using hookd::test::TestEvent;

using hookd::test::contains;
using hookd::test::listen_loopback;

namespace {

// An SMTP server good enough for the plugin: records every accepted message; answers 451
// to MAIL FROM while fail_next() > 0.
class SmtpSink {
 public:
  struct Mail {
    std::string helo;
    std::string from;
    std::vector<std::string> rcpt;
    std::vector<std::string> raw_lines;  // the DATA lines as sent (dot-stuffed)
    std::string data;                    // the message, dots removed, CRLF line ends
  };

  SmtpSink() : listen_fd_(listen_loopback(port_, 16)), thread_([this] { run(); }) {}
  ~SmtpSink() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  std::uint16_t port() const { return port_; }
  void fail_next(int n) { fail_next_ = n; }
  std::vector<Mail> mails() {
    std::lock_guard lock(mutex_);
    return mails_;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      timeval tv{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      session(fd);
      ::close(fd);
    }
  }

  static void say(int fd, const std::string& line) {
    const std::string out = line + "\r\n";
    (void)!::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  }

  bool read_line(int fd, std::string* line) {
    for (;;) {
      const auto eol = buffer_.find("\r\n");
      if (eol != std::string::npos) {
        *line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 2);
        return true;
      }
      char chunk[1024];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void session(int fd) {
    buffer_.clear();
    Mail mail;
    std::string line;
    say(fd, "220 sink ESMTP");
    while (read_line(fd, &line)) {
      const std::string verb = line.substr(0, 4);
      if (verb == "EHLO" || verb == "HELO") {
        mail.helo = line.substr(5);
        say(fd, "250-sink");
        say(fd, "250 8BITMIME");
      } else if (line.rfind("MAIL FROM:", 0) == 0) {
        if (fail_next_ > 0) {
          --fail_next_;
          say(fd, "451 4.3.0 sink says try again later");
        } else {
          mail.from = line.substr(10);
          say(fd, "250 2.1.0 ok");
        }
      } else if (line.rfind("RCPT TO:", 0) == 0) {
        mail.rcpt.push_back(line.substr(8));
        say(fd, "250 2.1.5 ok");
      } else if (line == "DATA") {
        say(fd, "354 go ahead");
        while (read_line(fd, &line) && line != ".") {
          mail.raw_lines.push_back(line);
          mail.data += (line.rfind(".", 0) == 0 ? line.substr(1) : line) + "\r\n";
        }
        say(fd, "250 2.0.0 queued");
        std::lock_guard lock(mutex_);
        mails_.push_back(mail);
      } else if (line == "QUIT") {
        say(fd, "221 bye");
        return;
      } else {
        say(fd, "500 what");
      }
    }
  }

  std::uint16_t port_ = 0;
  int listen_fd_;
  std::atomic<bool> stop_{false};
  std::atomic<int> fail_next_{0};
  std::string buffer_;
  std::mutex mutex_;
  std::vector<Mail> mails_;
  std::thread thread_;
};

constexpr const char* kCompleted = "test_taker.assessment_completed";

TestEvent completed(const std::string& id, const std::string& name = "Ana") {
  TestEvent ev;
  ev.id = id;
  ev.route = "jofi";
  ev.type = kCompleted;
  ev.body = R"({"id":")" + id + R"(","type":"test_taker.assessment_completed",)" +
            R"("created_at":"2026-11-28T13:34:08Z","data":{"participant_id":"p_123",)" +
            R"("participant_email":"ana@example.com","participant_name":")" + name +
            R"(","assessment_id":"a_9","assessment_name":"Backend C++","status":"completed",)" +
            R"("score":87}})";
  return ev;
}

struct MailFixture {
  TempDir dir;
  std::string db_path = dir.file("jofi.db");
  std::shared_ptr<const Library> lib = Library::load(hookd::test::bundled_plugin("jofi"));

  hookd::plugin::Instance with_port(std::uint16_t port, const std::string& timeout = "5s") {
    return lib->create("database: " + db_path +
                       "\n"
                       "smtp:\n"
                       "  host: 127.0.0.1\n"
                       "  port: " +
                       std::to_string(port) +
                       "\n"
                       "  helo: hookd.test\n"
                       "  from: \"hookd <hookd@example.com>\"\n"
                       "  to: [ops@example.com, \"Lead <lead@example.com>\"]\n"
                       "  timeout: " +
                       timeout + "\n");
  }
  std::int64_t count(const std::string& sql) { return Db(db_path).integer(sql); }
};

std::vector<std::string> header_lines(const std::string& data) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    const auto eol = data.find("\r\n", pos);
    if (eol == std::string::npos || eol == pos) return out;
    out.push_back(data.substr(pos, eol - pos));
    pos = eol + 2;
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_jofi_smtp)

BOOST_FIXTURE_TEST_CASE(completion_sends_one_mail, MailFixture) {
  SmtpSink sink;
  auto instance = with_port(sink.port());
  TestEvent ev = completed("evt_1", ".Ana");  // a line-leading dot in the body
  const Result r = instance.handle(ev.view());
  BOOST_TEST((r.outcome == Outcome::ok), r.message);
  BOOST_TEST(contains(r.message, "mailed"), r.message);

  const auto mails = sink.mails();
  BOOST_REQUIRE(mails.size() == 1u);
  const auto& m = mails[0];
  BOOST_TEST(m.helo == "hookd.test");
  BOOST_TEST(m.from == "<hookd@example.com>");
  BOOST_TEST((m.rcpt == std::vector<std::string>{"<ops@example.com>", "<lead@example.com>"}));
  const auto headers = header_lines(m.data);
  auto has = [&](const std::string& h) {
    return std::find(headers.begin(), headers.end(), h) != headers.end();
  };
  BOOST_TEST(has("Subject: JOFI: .Ana completed Backend C++ (score 87)"));
  BOOST_TEST(has("From: hookd <hookd@example.com>"));
  BOOST_TEST(has("To: ops@example.com, Lead <lead@example.com>"));
  BOOST_TEST(has("Content-Type: text/plain; charset=utf-8"));
  // Dot-stuffed on the wire, restored by the receiver.
  const std::string first = ".Ana completed Backend C++ with a score of 87.";
  BOOST_TEST((std::find(m.raw_lines.begin(), m.raw_lines.end(), "." + first) != m.raw_lines.end()));
  BOOST_TEST(contains(m.data, "\r\n\r\n" + first + "\r\n"));
  BOOST_TEST(contains(m.data, "Email:          ana@example.com\r\n"));
  BOOST_TEST(contains(m.data, "Assessment id:  a_9\r\n"));

  BOOST_TEST(count("SELECT count(*) FROM notifications") == 1);
  BOOST_TEST(count("SELECT count(*) FROM notifications WHERE sent_at IS NOT NULL") == 1);
  BOOST_TEST(count("SELECT attempts FROM notifications") == 1);
}

BOOST_FIXTURE_TEST_CASE(the_same_event_twice_mails_once, MailFixture) {
  SmtpSink sink;
  auto instance = with_port(sink.port());
  TestEvent ev = completed("evt_1");
  BOOST_TEST((instance.handle(ev.view()).outcome == Outcome::ok));
  ev.attempt = 2;
  const Result again = instance.handle(ev.view());
  BOOST_TEST((again.outcome == Outcome::ok));
  BOOST_TEST(contains(again.message, "already applied"), again.message);
  BOOST_TEST(sink.mails().size() == 1u);
  BOOST_TEST(count("SELECT count(*) FROM notifications") == 1);
  BOOST_TEST(count("SELECT count(*) FROM participant_assessments") == 1);
}

BOOST_FIXTURE_TEST_CASE(a_451_is_retried_and_the_retry_sends, MailFixture) {
  SmtpSink sink;
  sink.fail_next(1);
  auto instance = with_port(sink.port());
  TestEvent ev = completed("evt_1");
  const Result first = instance.handle(ev.view());
  BOOST_TEST((first.outcome == Outcome::retry));
  BOOST_TEST(contains(first.message, "MAIL FROM: 451 4.3.0 sink says try again later"),
             first.message);
  BOOST_TEST(sink.mails().empty());
  BOOST_TEST(count("SELECT count(*) FROM notifications WHERE sent_at IS NULL") == 1);
  BOOST_TEST(count("SELECT attempts FROM notifications") == 1);
  BOOST_TEST(*Db(db_path).text("SELECT last_error FROM notifications") == first.message);
  // The state change itself was applied by the first attempt.
  BOOST_TEST(count("SELECT count(*) FROM participant_assessments WHERE status = 'completed'") == 1);

  ev.attempt = 2;
  const Result second = instance.handle(ev.view());
  BOOST_TEST((second.outcome == Outcome::ok), second.message);
  BOOST_TEST(sink.mails().size() == 1u);
  BOOST_TEST(count("SELECT count(*) FROM notifications") == 1);
  BOOST_TEST(count("SELECT count(*) FROM notifications WHERE sent_at IS NOT NULL") == 1);
  BOOST_TEST(count("SELECT attempts FROM notifications") == 2);
  BOOST_TEST(count("SELECT last_error IS NULL FROM notifications") == 1);

  ev.attempt = 3;  // a redelivery after the mail went out sends nothing
  BOOST_TEST((instance.handle(ev.view()).outcome == Outcome::ok));
  BOOST_TEST(sink.mails().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(no_relay_listening_is_retried, MailFixture) {
  std::uint16_t port = 0;
  ::close(listen_loopback(port, 16));  // the port is free again: connections are refused
  auto instance = with_port(port);
  TestEvent ev = completed("evt_1");
  const Result r = instance.handle(ev.view());
  BOOST_TEST((r.outcome == Outcome::retry));
  BOOST_TEST(contains(r.message, "smtp: connect 127.0.0.1:"), r.message);
  BOOST_TEST(contains(r.message, "refused"), r.message);
  BOOST_TEST(count("SELECT count(*) FROM notifications WHERE sent_at IS NULL") == 1);
}

BOOST_FIXTURE_TEST_CASE(a_silent_relay_times_out, MailFixture) {
  std::uint16_t port = 0;
  const int fd = listen_loopback(port, 16);  // accepts connections (backlog) but never greets
  auto instance = with_port(port, "300ms");
  TestEvent ev = completed("evt_1");
  const auto start = std::chrono::steady_clock::now();
  const Result r = instance.handle(ev.view());
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  BOOST_TEST((r.outcome == Outcome::retry));
  BOOST_TEST(contains(r.message, "smtp: greeting: timed out"), r.message);
  BOOST_TEST(took < std::chrono::seconds(10));  // ended by the timeout, not hung: a loose bound
}

BOOST_FIXTURE_TEST_CASE(non_ascii_names_are_encoded, MailFixture) {
  SmtpSink sink;
  auto instance = with_port(sink.port());
  TestEvent ev = completed("evt_1", "Zoë Ümlaut");
  BOOST_TEST((instance.handle(ev.view()).outcome == Outcome::ok));
  BOOST_REQUIRE(sink.mails().size() == 1u);
  const std::string data = sink.mails()[0].data;
  BOOST_TEST(contains(data, "Subject: =?UTF-8?B?"), data);
  BOOST_TEST(contains(data, "Content-Transfer-Encoding: base64"), data);
  BOOST_TEST((std::find_if(data.begin(), data.end(), [](char c) {
                return static_cast<unsigned char>(c) >= 0x80;
              }) == data.end()));
}

BOOST_AUTO_TEST_SUITE_END()
