// ServerProcess: fork/exec of the hookd binary, log scraping for the bound ports.
#include "server_process.hpp"

#include "tls_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace hookd::test {

const char* test_isolation() {
  const char* mode = std::getenv("HOOKD_TEST_ISOLATION");
  return mode != nullptr && *mode != '\0' ? mode : nullptr;
}

std::string with_test_isolation(std::string yaml) {
  const char* mode = test_isolation();
  if (mode == nullptr) return yaml;
  const std::string line = std::string("  isolation: ") + mode + "\n";
  if (yaml.starts_with("workers:\n")) return yaml.insert(9, line);
  if (const auto at = yaml.find("\nworkers:\n"); at != std::string::npos) {
    return yaml.insert(at + 10, line);
  }
  if (!yaml.empty() && yaml.back() != '\n') yaml += '\n';
  return yaml + "workers:\n" + line;
}

namespace {

// The child's environment, built before the fork: after it, in a test with threads, only
// async-signal-safe calls are allowed (no setenv, no malloc).
struct ChildEnvironment {
  std::vector<std::string> strings;
  std::vector<char*> pointers;
  char* listen_pid = nullptr;  // "LISTEN_PID=" and room for the digits, filled in the child

  explicit ChildEnvironment(const ServerOptions& options) {
    auto overridden = [&](const std::string& entry) {
      const auto name = entry.substr(0, entry.find('='));
      for (const auto& [key, value] : options.env) {
        if (key == name) return true;
      }
      return name == "LISTEN_FDS" || name == "LISTEN_PID" || name == "LISTEN_FDNAMES";
    };
    for (char** e = environ; *e != nullptr; ++e) {
      if (!overridden(*e)) strings.emplace_back(*e);
    }
    for (const auto& [key, value] : options.env) strings.push_back(key + "=" + value);
    if (!options.listen_fds.empty()) {
      strings.push_back("LISTEN_FDS=" + std::to_string(options.listen_fds.size()));
      if (!options.listen_fdnames.empty()) {
        strings.push_back("LISTEN_FDNAMES=" + options.listen_fdnames);
      }
      strings.push_back("LISTEN_PID=" + std::string(20, '\0'));
    }
    for (auto& str : strings) pointers.push_back(str.data());
    pointers.push_back(nullptr);
    if (!options.listen_fds.empty()) listen_pid = strings.back().data() + 11;
  }

  // Async-signal-safe: the decimal pid into the reserved room.
  void set_listen_pid(pid_t pid) const {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + pid % 10);
      pid /= 10;
    } while (pid > 0);
    for (int i = 0; i < n; ++i) listen_pid[i] = digits[n - 1 - i];
    listen_pid[n] = '\0';
  }
};

// In the child: `fds` become 3, 4, … (without close-on-exec); first moved out of the way,
// since a source may be one of the targets.
void pass_fds(const std::vector<int>& fds) {
  int moved[64];
  const std::size_t n = std::min<std::size_t>(fds.size(), 64);
  for (std::size_t i = 0; i < n; ++i) moved[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 100);
  for (std::size_t i = 0; i < n; ++i) {
    if (moved[i] < 0 || ::dup2(moved[i], 3 + static_cast<int>(i)) < 0) ::_exit(126);
    ::close(moved[i]);
  }
}

}  // namespace

ServerProcess::ServerProcess(const TempDir& dir, const std::string& config_yaml,
                             const ServerOptions& options)
    : dir_(dir.path().string()), log_path_(dir.file("hookd.log")) {
  dir.write("hookd.yaml", with_test_isolation(config_yaml));
  dir.write("hookd.log", "");  // before the fork: never read an earlier run's ports
  const ChildEnvironment environment(options);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (::chdir(dir_.c_str()) != 0) ::_exit(127);
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) ::_exit(127);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::dup2(null, 0);
    if (!options.listen_fds.empty()) {
      pass_fds(options.listen_fds);
      environment.set_listen_pid(::getpid());
    }
    if (options.max_files != 0) {
      const rlimit files{options.max_files, options.max_files};
      if (::setrlimit(RLIMIT_NOFILE, &files) != 0) ::_exit(127);
    }
    ::execle(HOOKD_BINARY, HOOKD_BINARY, "serve", "-c", "hookd.yaml", static_cast<char*>(nullptr),
             environment.pointers.data());
    ::_exit(127);
  }
  if (!options.wait_listening) return;
  const bool wait_ready = options.wait_ready;
  // The port ends the message: a space or a newline follows in the text format, a quote
  // in the JSON one.
  static const std::regex webhooks(R"(listening for webhooks on https://[^\s"]*:(\d+)[\s"])");
  static const std::regex admin(R"(admin listening on http://[^\s"]*:(\d+)[\s"])");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = log();
    std::smatch m;
    if (std::regex_search(text, m, webhooks)) port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    if (std::regex_search(text, m, admin))
      admin_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
    if (port_ != 0 && admin_port_ != 0 && (!wait_ready || ready())) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("hookd exited during start:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_hard();
  throw std::runtime_error("hookd did not start within 20 s:\n" + log());
}

bool ServerProcess::ready() const {
  try {
    return http_get(admin_port_, "/readyz").status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) kill_hard();
}

void ServerProcess::signal(int signo) {
  if (pid_ > 0) ::kill(pid_, signo);
}

int ServerProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

void ServerProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ServerProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult run_hookd(const std::string& cwd, const std::string& args) {
  return run_command(cwd, std::string(HOOKD_BINARY) + " " + args);
}

CommandResult run_command(const std::string& cwd, const std::string& command) {
  std::string cmd = "cd '" + cwd + "' && " + command + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed");
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string basic_config(const std::string& extra_storage, const std::string& extra_limits) {
  return "server:\n"
         "  listen: 127.0.0.1:0\n"
         "  io_threads: 2\n"
         "  shutdown_grace: 5s\n"
         "  tls: { cert: tls/cert.pem, key: tls/key.pem, self_signed: true }\n"
         "  limits:\n"
         "    max_body: 64KiB\n" +
         extra_limits +
         "admin:\n"
         "  listen: 127.0.0.1:0\n"
         "storage:\n"
         "  path: hookd.db\n" +
         extra_storage +
         "routes:\n"
         "  - name: jofi\n"
         "    path: /webhooks/incoming/jofi\n"
         "    auth: none\n"
         "    event: { id: json:/id, type: json:/type }\n"
         "  - name: anon\n"
         "    path: /webhooks/anon\n"
         "    auth: none\n"
         "  - name: hdr\n"
         "    path: /webhooks/hdr\n"
         "    auth: none\n"
         "    event: { id: header:X-Event-Id, type: header:X-Event-Type }\n";
}

}  // namespace hookd::test
