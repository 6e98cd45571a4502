// The jofi plugin's plain-SMTP client over a non-blocking socket with poll(); see
// smtp_client.hpp.
#include "smtp_client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>

namespace hookd::plugins::jofi {
namespace {

using Clock = std::chrono::steady_clock;

// One connection to the relay; every wait ends at `deadline_`.
class Connection {
 public:
  Connection(const SmtpSettings& s, Clock::time_point deadline) : deadline_(deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const std::string where = s.host + ":" + std::to_string(s.port);
    const int rc = getaddrinfo(s.host.c_str(), std::to_string(s.port).c_str(), &hints, &list);
    if (rc != 0) throw SmtpError("smtp: resolve " + s.host + ": " + gai_strerror(rc));
    std::string error = "no address";
    for (addrinfo* ai = list; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
      error = try_connect(ai);
    }
    freeaddrinfo(list);
    if (fd_ < 0) throw SmtpError("smtp: connect " + where + ": " + error);
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void write(std::string_view data, const std::string& step) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wait(POLLOUT, step);
      } else if (n < 0 && errno != EINTR) {
        throw SmtpError("smtp: " + step + ": " + std::strerror(errno));
      }
    }
  }

  // Reads one (possibly multi-line) reply.
  SmtpReply read_reply(const std::string& step) {
    for (;;) {
      if (auto reply = replies_.next(step)) return std::move(*reply);
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        replies_.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
      } else if (n == 0) {
        throw SmtpError("smtp: " + step + ": connection closed by the server");
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait(POLLIN, step);
      } else if (errno != EINTR) {
        throw SmtpError("smtp: " + step + ": " + std::strerror(errno));
      }
    }
  }

 private:
  std::string try_connect(const addrinfo* ai) {
    const int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) return std::strerror(errno);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      fd_ = fd;
      return {};
    }
    if (errno != EINPROGRESS) {
      const std::string error = std::strerror(errno);
      ::close(fd);
      return error;
    }
    fd_ = fd;
    try {
      wait(POLLOUT, "connect");
    } catch (const SmtpError&) {
      ::close(fd);
      fd_ = -1;
      return "timed out";
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      ::close(fd);
      fd_ = -1;
      return std::strerror(err);
    }
    return {};
  }

  void wait(short events, const std::string& step) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) throw SmtpError("smtp: " + step + ": timed out");
      pollfd p{fd_, events, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
      if (rc > 0) return;
      if (rc < 0 && errno != EINTR) throw SmtpError("smtp: " + step + ": " + std::strerror(errno));
    }
  }

  int fd_ = -1;
  Clock::time_point deadline_;
  SmtpReplyReader replies_;
};

// Sends `command` (when not empty) and checks that the reply's code is one of `ok`.
SmtpReply command(Connection& c, const std::string& command, const std::string& step,
                  std::initializer_list<int> ok) {
  if (!command.empty()) c.write(command + "\r\n", step);
  SmtpReply reply = c.read_reply(step);
  for (int code : ok) {
    if (reply.code == code) return reply;
  }
  throw SmtpError("smtp: " + step + ": " + reply.text.substr(0, 300));
}

}  // namespace

std::string smtp_data(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 50 + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (line_start && c == '.') out += '.';
    if (c == '\n' && (i == 0 || message[i - 1] != '\r')) out += '\r';
    out += c;
    line_start = c == '\n';
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

void smtp_send(const SmtpSettings& settings, const std::string& envelope_from,
               const std::vector<std::string>& envelope_to, std::string_view message) {
  Connection c(settings, Clock::now() + settings.timeout);
  command(c, "", "greeting", {220});
  c.write("EHLO " + settings.helo + "\r\n", "EHLO");
  const SmtpReply ehlo = c.read_reply("EHLO");
  if (ehlo.code / 100 == 5) {  // an RFC 821 server: say HELO instead
    command(c, "HELO " + settings.helo, "HELO", {250});
  } else if (ehlo.code != 250) {
    throw SmtpError("smtp: EHLO: " + ehlo.text.substr(0, 300));
  }
  command(c, "MAIL FROM:<" + envelope_from + ">", "MAIL FROM", {250});
  for (const auto& to : envelope_to) command(c, "RCPT TO:<" + to + ">", "RCPT TO", {250, 251});
  command(c, "DATA", "DATA", {354});
  c.write(smtp_data(message), "DATA");
  command(c, "", "end of DATA", {250});
  try {
    command(c, "QUIT", "QUIT", {221});
  } catch (const SmtpError&) {
    // the message is accepted; a rude goodbye changes nothing
  }
}

}  // namespace hookd::plugins::jofi
